import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

export type Protocol = 'udp' | 'tcp' | 'https';

export interface ResolverSpec {
  protocol: Protocol;
  /** IP literal for udp/tcp; host name allowed for https. */
  host: string;
  port: number;
  /** Full URL for DNS over HTTPS. */
  url?: string;
  /** How the resolver is shown in logs and recorded with every observation. */
  label: string;
}

/**
 * Parses `192.0.2.53`, `192.0.2.54:5353`, `[2001:db8::53]:53`, `2001:db8::53`,
 * `tcp://192.0.2.53:53`, `udp://…` and `https://doh.example/dns-query`.
 * Returns a message instead when the text is not a resolver.
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
  const scheme = /^(udp|tcp):\/\/(.*)$/i.exec(input);
  if (scheme) {
    protocol = (scheme[1] as string).toLowerCase() as Protocol;
    rest = scheme[2] as string;
  } else if (/^[a-z]+:\/\//i.test(input)) {
    return `${JSON.stringify(text)}: unknown scheme (use udp://, tcp:// or https://)`;
  }
  let host = rest;
  let port = 53;
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
    return `${JSON.stringify(text)}: the resolver must be an IP address (a name would need a resolver to find it)`;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `${JSON.stringify(text)}: port must be 1-65535`;
  const normalized = ipaddr.parse(host).toString();
  const hostPart = normalized.includes(':') ? `[${normalized}]` : normalized;
  return {
    protocol,
    host: normalized,
    port,
    label: `${protocol === 'udp' ? '' : `${protocol}://`}${hostPart}${port === 53 ? '' : `:${port}`}`,
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
