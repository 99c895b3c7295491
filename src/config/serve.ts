import { resolve as resolvePath } from 'node:path';
import { parseAddress, type Address } from '../address.js';
import { ConfigError } from '../errors.js';
import type { RawConfig } from './schema.js';
import type { ServeSettings } from './types.js';

/** Where `serve` listens when neither `serve.listen` nor `--listen` says: this host only. */
export const DEFAULT_LISTEN = '127.0.0.1:8080';

/** `192.0.2.1:8443`, `[2001:db8::1]:8443`, `localhost:8080`; an error message when it is none of them. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    return `"${text}" is not address:port (e.g. "0.0.0.0:8443", "[::]:8443", "127.0.0.1:8080")`;
  const host = (m[1] ?? m[2]) as string;
  if (m[1] !== undefined && parseAddress(host)?.family !== 'ipv6') return `"${host}" is not an IPv6 address`;
  return { host, port };
}

/** Whether a listening address reaches only this host: plain HTTP there is not worth a warning. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

type Fail = (path: PropertyKey[], message: string) => never;

/** The settings of `serve:`, paths resolved against the configuration's folder. */
export function buildServe(raw: NonNullable<RawConfig['serve']>, dir: string, fail: Fail): ServeSettings {
  const listen = parseListen(raw.listen ?? DEFAULT_LISTEN);
  if (typeof listen === 'string') fail(['serve', 'listen'], listen);
  const clients = (raw.clients ?? []).map(
    (text, i): Address =>
      parseAddress(text) ??
      fail(['serve', 'clients', i], `${JSON.stringify(text)} is not an address or prefix`),
  );
  return {
    listen: listen as { host: string; port: number },
    ...(raw.tls
      ? {
          tls: { certFile: resolvePath(dir, raw.tls.cert_file), keyFile: resolvePath(dir, raw.tls.key_file) },
        }
      : {}),
    ...(raw.users_file ? { usersFile: resolvePath(dir, raw.users_file) } : {}),
    clients,
    ...(raw.healthy_within !== undefined ? { healthyWithinMs: raw.healthy_within } : {}),
  };
}

/**
 * /healthz of `serve` when `serve.healthy_within` does not say: twice the 5-minute interval of the
 * timer `dnsfence systemd` writes by default. `watch` uses twice its --max-interval instead.
 */
export const DEFAULT_HEALTHY_WITHIN_MS = 10 * 60_000;

/** The settings `serve` runs with: `serve:` of the configuration or the defaults, `--listen` over both. */
export function serveSettings(configured: ServeSettings | undefined, listen?: string): ServeSettings {
  const settings = configured ?? {
    listen: parseListen(DEFAULT_LISTEN) as ServeSettings['listen'],
    clients: [],
  };
  if (listen === undefined) return settings;
  const parsed = parseListen(listen);
  if (typeof parsed === 'string') throw new ConfigError(`--listen: ${parsed}`);
  return { ...settings, listen: parsed };
}
