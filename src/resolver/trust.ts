import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { normalizeFingerprint } from '../fingerprint.js';
import type { ResolverSpec, ResolverTrust } from '../config/resolver-spec.js';

/** Where distributions keep the system's CA bundle (Debian and Ubuntu first). */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

let systemCa: string[] | undefined | null = null;

/**
 * The system's CAs, which an admin manages (update-ca-certificates), rather than the copy of
 * Mozilla's list inside Node; plus NODE_EXTRA_CA_CERTS, which Node users expect to keep working.
 * Undefined where no bundle is found: Node's own list then applies.
 */
function systemCas(): string[] | undefined {
  if (systemCa !== null) return systemCa;
  systemCa = undefined;
  for (const path of SYSTEM_BUNDLES) {
    try {
      const pem = readFileSync(path, 'utf8');
      const extra = process.env.NODE_EXTRA_CA_CERTS;
      let extraPem = '';
      try {
        extraPem = extra ? readFileSync(extra, 'utf8') : '';
      } catch {
        // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS.
      }
      systemCa = [pem, ...(extraPem ? [extraPem] : [])];
      break;
    } catch {
      // not this distribution's path
    }
  }
  return systemCa;
}

/**
 * TLS options for a tls:// or https:// resolver. With a pinned fingerprint the chain is not
 * checked (such certificates are usually self-signed): `pinned` must then be called on the
 * connected socket's certificate before anything is sent or believed.
 */
export function tlsOptions(server: ResolverSpec): ConnectionOptions {
  const trust: ResolverTrust = server.trust ?? {};
  // SNI carries names only (RFC 6066); without one, Node checks the certificate against the address.
  const name = server.servername ?? (net.isIP(server.host) ? undefined : server.host);
  if (trust.fingerprint) {
    return { ...(name ? { servername: name } : {}), rejectUnauthorized: false };
  }
  const ca = trust.ca ?? systemCas();
  return { ...(name ? { servername: name } : {}), rejectUnauthorized: true, ...(ca ? { ca } : {}) };
}

/** Undefined when the certificate is acceptable, else why not (one line). */
export function pinMismatch(server: ResolverSpec, cert: PeerCertificate | undefined): string | undefined {
  const pin = server.trust?.fingerprint;
  if (!pin) return undefined;
  const expected = normalizeFingerprint(pin);
  const seen = cert?.fingerprint256;
  return seen === expected
    ? undefined
    : `certificate of ${server.label} has fingerprint ${seen ?? 'none'}, not the pinned ${expected} (resolver_tls.fingerprint)`;
}

/** A certificate error as one line that says what to change. */
export function certificateProblem(server: ResolverSpec, err: NodeJS.ErrnoException): string | undefined {
  const code = err.code ?? '';
  if (!/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/.test(code))
    return undefined;
  const advice =
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `the certificate is not for ${server.servername ?? server.host}: name the certificate's host after '#' (tls://${server.host}#dns.example)`
      : 'set resolver_tls.ca (the CA that signed it) or resolver_tls.fingerprint';
  return `certificate of ${server.label} not accepted (${code}: ${err.message}); ${advice}`;
}
