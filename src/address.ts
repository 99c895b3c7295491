import ipaddr from 'ipaddr.js';

export type Family = 'ipv4' | 'ipv6';

/**
 * A normalised firewall entry: a host address (`192.0.2.1`, `2001:db8::1`) or a prefix
 * (`198.51.100.0/24`). Host prefixes (/32, /128) are stored bare so that every target's
 * spelling compares equal.
 */
export interface Address {
  readonly text: string;
  readonly family: Family;
  readonly prefix: number;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** An IPv4 address already in the one spelling parseAddress returns (no leading zeros). */
const CANONICAL_V4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * A bounded memo for what ipaddr.js works out about an address text: one sync meets the same
 * address in the DNS answer, the planner and the target's list, and a watch meets it every pass.
 */
class Memo<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly limit: number) {}
  get(key: string, compute: (key: string) => T): T {
    const known = this.map.get(key);
    // One lookup when the key is there; a second only for a remembered undefined.
    if (known !== undefined || this.map.has(key)) return known as T;
    const value = compute(key);
    this.set(key, value);
    return value;
  }
  set(key: string, value: T): void {
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(key, value);
  }
}

const parsed = new Memo<Address | undefined>(100_000);

export function parseAddress(input: string): Address | undefined {
  const raw = input.trim();
  // Most addresses arrive already normalised (from DNS, the store, our own list files): skip the parse.
  if (CANONICAL_V4.test(raw)) return { text: raw, family: 'ipv4', prefix: 32 };
  const address = parsed.get(raw, parseWithIpaddr);
  // The normalised spelling is what the planner and the targets' lists will ask about next.
  if (address && address.text !== raw) parsed.set(address.text, address);
  return address;
}

function parseWithIpaddr(raw: string): Address | undefined {
  try {
    if (raw.includes('/')) {
      const [addr, len] = ipaddr.parseCIDR(raw);
      const family: Family = addr.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
      const max = family === 'ipv4' ? 32 : 128;
      if (len === max) return { text: addr.toString(), family, prefix: len };
      const network =
        family === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(raw) : ipaddr.IPv6.networkAddressFromCIDR(raw);
      return { text: `${network.toString()}/${len}`, family, prefix: len };
    }
    if (raw.includes(':')) {
      const ip = ipaddr.IPv6.parse(raw);
      const text = ip.toString();
      // Answer hygiene will ask about the normalised address next.
      if (!ip.zoneId) ips.set(text, ip);
      return { text, family: 'ipv6', prefix: 128 };
    }
    // ipaddr.IPv4.isValid accepts legacy forms such as "1" or "0x7f.1"; firewalls do not.
    if (!ipaddr.IPv4.isValidFourPartDecimal(raw)) return undefined;
    return { text: ipaddr.IPv4.parse(raw).toString(), family: 'ipv4', prefix: 32 };
  } catch {
    return undefined;
  }
}

export function familyOf(text: string): Family {
  return text.includes(':') ? 'ipv6' : 'ipv4';
}

/**
 * A string that sorts like the address: family, then the address bytes, then the prefix length
 * (a host address after its prefixes). Numbers are stored as UTF-16 code units, which strings
 * compare one by one: a byte or a 16-bit IPv6 group per unit. Sorting by keys parses each
 * address once instead of twice per comparison.
 */
function sortKey(text: string): string {
  return sortKeys.get(text, computeSortKey);
}

const sortKeys = new Memo<string>(100_000);
const HOST = String.fromCharCode(999);

function computeSortKey(text: string): string {
  const [addr, len] = text.split('/') as [string, string | undefined];
  const suffix = len === undefined ? HOST : String.fromCharCode(Number(len));
  if (CANONICAL_V4.test(addr)) {
    const [a, b, c, d] = addr.split('.').map(Number) as [number, number, number, number];
    return `4${String.fromCharCode(a, b, c, d)}${suffix}`;
  }
  if (addr.includes(':')) {
    try {
      return `6${String.fromCharCode(...(ipOf(addr) as ipaddr.IPv6).parts)}${suffix}`;
    } catch {
      // Not an address after all: sorted with the other texts below.
    }
  }
  // Not an address: after every address, in text order.
  return `~${text}`;
}

/** Sort order used everywhere: IPv4 before IPv6, then numerically, then by prefix length. */
export function sortByAddress<T>(items: Iterable<T>, addressOf: (item: T) => string): T[] {
  return [...items]
    .map((item) => ({ item, key: sortKey(addressOf(item)) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((k) => k.item);
}

export function sortAddresses(list: Iterable<string>): string[] {
  return sortByAddress(list, (a) => a);
}

/** What `allow_private: true` additionally lets through: internal, routable space only. */
const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'carrierGradeNat']);

/** Documentation ranges are accepted on purpose: tests and the demo use them. */
const DOCUMENTATION: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [
  ipaddr.parseCIDR('192.0.2.0/24'),
  ipaddr.parseCIDR('198.51.100.0/24'),
  ipaddr.parseCIDR('203.0.113.0/24'),
  ipaddr.parseCIDR('2001:db8::/32'),
];

export interface Verdict {
  accepted: boolean;
  /** ipaddr.js range name, e.g. `private`, `loopback`; `unicast` when accepted. */
  range: string;
}

/**
 * Answer hygiene: is this address acceptable as a DNS answer for an allow-list?
 * IPv4-mapped and -translated IPv6 forms are judged by the IPv4 address inside them.
 */
export function judgeAnswer(text: string, allowPrivate: boolean): Verdict {
  const range = ranges.get(text, rangeOf);
  if (range === 'documentation' || range === 'unicast') return { accepted: true, range };
  return { accepted: allowPrivate && PRIVATE_RANGES.has(range), range };
}

const ranges = new Memo<string>(100_000);

function rangeOf(text: string): string {
  let addr = ipOf(text);
  let range = addr.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') {
    addr = new ipaddr.IPv4((addr as ipaddr.IPv6).toByteArray().slice(-4));
    range = addr.range();
  }
  for (const [net, len] of DOCUMENTATION) {
    if (addr.kind() === net.kind() && addr.match(net, len)) return 'documentation';
  }
  return range;
}

/** Parsed addresses by normalised text, shared by parseAddress, answer hygiene and sort keys. */
const ips = new Memo<ipaddr.IPv4 | ipaddr.IPv6>(100_000);

/** A normalised address (no prefix), parsed once. Throws for anything else. */
function ipOf(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ips.get(text, (t) => (t.includes(':') ? ipaddr.IPv6.parse(t) : ipaddr.IPv4.parse(t)));
}

/** Is `text` (a normalised address or prefix) inside `prefix`? A prefix is inside itself. */
export function within(text: string, prefix: Address): boolean {
  const inner = parseAddress(text);
  if (!inner || inner.family !== prefix.family || inner.prefix < prefix.prefix) return false;
  const net = ipOf(prefix.text.split('/')[0] as string);
  const addr = ipOf(inner.text.split('/')[0] as string);
  return net.kind() === addr.kind() && (addr as ipaddr.IPv4).match(net as ipaddr.IPv4, prefix.prefix);
}

export function insideAny(text: string, prefixes: readonly Address[]): boolean {
  return prefixes.some((p) => within(text, p));
}
