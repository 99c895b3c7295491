import { isLoopback } from './serve.js';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { errnoText } from '../errno.js';
import {
  parseResolver,
  systemResolvers,
  type DnssecMode,
  type ResolverSpec,
  type ResolverTrust,
} from './resolver-spec.js';
import type { RawConfig } from './schema.js';

type Fail = (path: PropertyKey[], message: string) => never;

/**
 * The `resolvers`, `resolver_tls` and `dnssec` keys: each resolver parsed, the certificate
 * settings attached to its tls:// and https:// resolvers, and a warning wherever `dnssec:
 * require` would trust an AD flag that crossed a network unprotected.
 */
export function resolverSettings(
  raw: RawConfig,
  dir: string,
  fail: Fail,
  warnings: string[],
): { resolvers: ResolverSpec[] | undefined; dnssec: DnssecMode; trust: ResolverTrust | undefined } {
  const trust = raw.resolver_tls ? readTrust(raw.resolver_tls, dir, fail) : undefined;
  const resolvers = raw.resolvers?.map((text, i) => resolverSpec(text, ['resolvers', i], trust, fail));
  const encrypted = (texts: string[] | undefined) => texts?.some((t) => /^(tls|https):\/\//i.test(t.trim()));
  if (trust && !encrypted(raw.resolvers) && !encrypted(raw.forward?.upstreams))
    warnings.push('resolver_tls: applies to tls:// and https:// resolvers, and none is configured');
  const dnssec = raw.dnssec ?? 'off';
  if (dnssec === 'require') {
    for (const r of resolvers ?? systemResolvers()) {
      if ((r.protocol === 'udp' || r.protocol === 'tcp') && !isLoopback(r.host))
        warnings.push(
          `dnssec: require trusts the AD flag of ${r.label}, which crosses the network unprotected: use a validating resolver on this host (127.0.0.1, ::1), tls:// or https://`,
        );
    }
  }
  return { resolvers, dnssec, trust };
}

/** One resolver as written (`resolvers`, `forward.upstreams`), with resolver_tls for tls:// and https://. */
export function resolverSpec(
  text: string,
  at: PropertyKey[],
  trust: ResolverTrust | undefined,
  fail: Fail,
): ResolverSpec {
  const spec = parseResolver(text);
  if (typeof spec === 'string') return fail(at, spec);
  return trust && (spec.protocol === 'tls' || spec.protocol === 'https') ? { ...spec, trust } : spec;
}

function readTrust(t: NonNullable<RawConfig['resolver_tls']>, dir: string, fail: Fail): ResolverTrust {
  if (t.ca && t.fingerprint) fail(['resolver_tls'], 'give ca or fingerprint, not both');
  if (t.fingerprint) return { fingerprint: t.fingerprint };
  if (!t.ca) return fail(['resolver_tls'], 'must give ca (a PEM file) or fingerprint');
  const path = resolvePath(dir, t.ca);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return fail(['resolver_tls', 'ca'], `cannot read ${path}: ${errnoText(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    fail(['resolver_tls', 'ca'], `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return { ca: pem };
}
