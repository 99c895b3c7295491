import { readFileSync } from 'node:fs';
import tls, { type ConnectionOptions } from 'node:tls';
import type { TlsSettings } from '../../src/config/types.js';
import { ExitCode, TargetError } from '../../src/errors.js';
import { errnoText } from '../../src/errno.js';
import { normalizeFingerprint } from '../../src/fingerprint.js';

/**
 * TLS options for API-SSL. A pinned fingerprint is checked on a first handshake that sends
 * nothing; the certificate it saw then becomes the only trust anchor of the real connection, so
 * the password only ever travels to the pinned certificate. (node-routeros opens its own socket,
 * so the pin cannot be checked on that socket before its login goes out.)
 */
export async function tlsOptions(
  target: string,
  host: string,
  port: number,
  settings: TlsSettings | false,
  timeoutMs: number,
): Promise<ConnectionOptions | false> {
  if (settings === false) return false;
  if (settings.insecure) return { rejectUnauthorized: false };
  if (settings.ca) {
    try {
      return { ca: readFileSync(settings.ca, 'utf8') };
    } catch (err) {
      throw new TargetError(target, `cannot read tls.ca ${settings.ca}: ${errnoText(err)}`, ExitCode.usage);
    }
  }
  if (!settings.fingerprint) return {};
  const pinned = normalizeFingerprint(settings.fingerprint);
  const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TargetError(target, `no TLS handshake from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate(true);
      socket.destroy();
      resolve(peer);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new TargetError(
          target,
          `cannot connect to ${host}:${port}: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`,
        ),
      );
    });
  });
  if (cert.fingerprint256 !== pinned) {
    throw new TargetError(
      target,
      `certificate fingerprint ${cert.fingerprint256 ?? 'none'} does not match the pinned ${pinned}`,
    );
  }
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  // The pin identifies the router; names in the certificate (often none on RouterOS) do not matter.
  return { ca: pem, checkServerIdentity: () => undefined };
}
