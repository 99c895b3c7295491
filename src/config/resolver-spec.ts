import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

export type Protocol = 'udp' | 'tcp' | 'tls' | 'https';

/** `dnssec:` off, or require: an answer without the AD flag from the validating resolver is a failure. */
export type DnssecMode = 'off' | 'require';

/** How the certificate of a tls:// or https:// resolver is checked (default: the system's CAs). */
export interface ResolverTrust {
  /** PEM of the CA certificates to trust instead of the system's. */
  ca?: string;
  /** SHA-256 fingerprint of the server's own certificate, pinned: it replaces the CA check. */
  fingerprint?: string;
}

export interface ResolverSpec {
  protocol: Protocol;
  /** IP literal for udp/tcp/tls; host name allowed for https. */
  host: string;
  port: number;
  /** Full URL for DNS over HTTPS. */
  url?: string;
  /** DNS over TLS: the name the certificate must hold (after '#'); else the address as written. */
  servername?: string;
  /** tls:// and https://: how the certificate is checked. */
  trust?: ResolverTrust;
  /** How the resolver is shown in logs and recorded with every observation. */
  label: string;
}

/**
 * Parses `192.0.2.53`, `192.0.2.54:5353`, `[2001:db8::53]:53`, `2001:db8::53`,
 * `tcp://192.0.2.53:53`, `udp://…`, `tls://192.0.2.53[:853][#dns.example]` and
 * `https://doh.example/dns-query`. Returns a message instead when the text is not a resolver.
 */
export function parseResolver(text: string): ResolverSpec | string {
  const input = text.trim();
  if (/^https:\/\//i.test(input)) {
    try {
      const url = new URL(input);
      const port = url.port ? Number(url.port) : 443;
      return { protocol: 'https', host: url.hostname, port, url: url.toString(), label: url.toString() };
    } catch {
      return `${JSON.stringify(text)} is not a valid https:// URL`;
    }
  }
  let protocol: Protocol = 'udp';
  let rest = input;
  let servername: string | undefined;
  const scheme = /^(udp|tcp|tls):\/\/(.*)$/i.exec(input);
  if (scheme) {
    protocol = (scheme[1] as string).toLowerCase() as Protocol;
    rest = scheme[2] as string;
  } else if (/^[a-z]+:\/\//i.test(input)) {
    return `${JSON.stringify(text)}: unknown scheme (use udp://, tcp://, tls:// or https://)`;
  }
  if (protocol === 'tls' && rest.includes('#')) {
    servername = rest.slice(rest.indexOf('#') + 1).toLowerCase();
    rest = rest.slice(0, rest.indexOf('#'));
    if (
      !/^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/.test(
        servername,
      )
    )
      return `${JSON.stringify(text)}: the name after '#' must be the host name in the server's certificate`;
    servername = servername.replace(/\.$/, '');
  }
  const defaultPort = protocol === 'tls' ? 853 : 53;
  let host = rest;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1] as string;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (!rest.includes(':') || rest.indexOf(':') !== rest.lastIndexOf(':')) {
    host = rest;
  } else {
    const [h, p] = rest.split(':');
    host = h as string;
    port = Number(p);
  }
  if (
    !ipaddr.isValid(host) ||
    (host.includes('.') && !host.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(host))
  ) {
    return protocol === 'tls'
      ? `${JSON.stringify(text)}: the resolver must be an IP address (a name would need a resolver to find it); give the certificate's name after '#': tls://192.0.2.53#dns.example`
      : `${JSON.stringify(text)}: the resolver must be an IP address (a name would need a resolver to find it)`;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `${JSON.stringify(text)}: port must be 1-65535`;
  const normalized = ipaddr.parse(host).toString();
  const hostPart = normalized.includes(':') ? `[${normalized}]` : normalized;
  return {
    protocol,
    host: normalized,
    port,
    ...(servername ? { servername } : {}),
    label: `${protocol === 'udp' ? '' : `${protocol}://`}${hostPart}${port === defaultPort ? '' : `:${port}`}${servername ? `#${servername}` : ''}`,
  };
}

/** The system's resolvers: the `nameserver` lines of /etc/resolv.conf. */
export function systemResolvers(path = '/etc/resolv.conf'): ResolverSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const specs: ResolverSpec[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // A scoped link-local address (fe80::1%eth0) cannot be used from a plain socket address.
    const spec = parseResolver((m[1] as string).replace(/%.*$/, ''));
    if (typeof spec !== 'string') specs.push(spec);
  }
  return specs;
}
