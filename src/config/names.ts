import { domainToASCII } from 'node:url';
import braces from 'braces';

/** Brace ranges such as `{0..3}.pool.example` must not explode into millions of names. */
const MAX_EXPANSION = 1024;

export type NameResult = { ok: true; names: string[]; wildcards: string[] } | { ok: false; message: string };

/**
 * Expands brace ranges and validates every resulting DNS name. Returns names in lower case
 * without a trailing dot; IDNs are converted to their ASCII (punycode) form. A wildcard
 * (`*.zone`: any name one or more labels below the zone, not the zone itself) is accepted only
 * when `wildcards` is set (with `forward`, the forwarder learns its names from DNS traffic).
 */
export function expandName(input: string, wildcards = false): NameResult {
  const raw = input.trim();
  let expanded: string[];
  try {
    expanded = raw.includes('{') ? braces(raw, { expand: true, rangeLimit: MAX_EXPANSION }) : [raw];
  } catch (err) {
    // braces' own message tells a programmer which option to raise; the admin needs the limit.
    const tooLarge = /range limit/i.test((err as Error).message);
    return {
      ok: false,
      message: tooLarge
        ? `${JSON.stringify(input)} expands to more than ${MAX_EXPANSION} names (at most ${MAX_EXPANSION})`
        : `${JSON.stringify(input)}: malformed brace range (write {0..3} or {a,b})`,
    };
  }
  if (expanded.length > MAX_EXPANSION) {
    return {
      ok: false,
      message: `${JSON.stringify(input)} expands to ${expanded.length} names (at most ${MAX_EXPANSION})`,
    };
  }
  const zones: string[] = [];
  const names: string[] = [];
  for (const candidate of expanded) {
    if (candidate.includes('*')) {
      const zone = wildcardZone(input, candidate, wildcards);
      if (!zone.ok) return zone;
      zones.push(...zone.wildcards);
      continue;
    }
    const problem = validateHostname(candidate);
    if (typeof problem === 'string' && problem.startsWith('!')) {
      return { ok: false, message: `${JSON.stringify(candidate)} ${problem.slice(1)}` };
    }
    names.push(problem);
  }
  return { ok: true, names, wildcards: zones };
}

/** `*.zone`, normalised, when wildcards are allowed and the zone is a valid name. */
function wildcardZone(input: string, candidate: string, allowed: boolean): NameResult {
  const text = candidate.trim();
  if (!allowed)
    return {
      ok: false,
      message:
        `${JSON.stringify(input)} is a wildcard: DNS cannot enumerate the names under it, so no poller can follow it. ` +
        'List the subdomains actually in use (the DNS log of the client shows them), configure forward: so that ' +
        'dnsfence watch learns them from the DNS traffic it forwards (docs/forwarding.md), or feed the set from a ' +
        'snooping resolver (dnsmasq nftset=, RouterOS /ip dns static type=FWD address-list=)',
    };
  if (!text.startsWith('*.') || text.slice(2).includes('*'))
    return {
      ok: false,
      message: `${JSON.stringify(input)}: only a whole first label can be a wildcard, as in *.example.com`,
    };
  const zone = validateHostname(text.slice(2));
  if (zone.startsWith('!'))
    return { ok: false, message: `${JSON.stringify(input)}: the zone ${zone.slice(1)}` };
  return { ok: true, names: [], wildcards: [`*.${zone}`] };
}

/** Returns the normalised name, or a message prefixed with `!`. */
function validateHostname(input: string): string {
  let name = input.trim().replace(/\.$/, '');
  if (name === '') return '!is empty';
  if (/[\s"';{}\\/`$<>|&()]/.test(name)) return '!contains characters a DNS name cannot hold';
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === '') return '!is not a valid internationalised domain name';
    name = ascii;
  }
  name = name.toLowerCase();
  if (name.length > 253) return '!is longer than 253 characters';
  const labels = name.split('.');
  if (labels.length < 2) return '!is not a fully qualified name (add the domain, e.g. host.example.com)';
  for (const label of labels) {
    if (label.length === 0) return '!has an empty label (two dots in a row)';
    if (label.length > 63) return `!has a label longer than 63 characters ("${label.slice(0, 20)}…")`;
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/.test(label)) {
      return `!has an invalid label ${JSON.stringify(label)} (letters, digits, hyphen; no leading or trailing hyphen)`;
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] as string))
    return '!looks like an IP address, not a DNS name (use static:)';
  return name;
}

/** Whether a name (lower case, no final dot) is one or more labels below the zone of `*.zone`. */
export function matchesWildcard(name: string, wildcard: string): boolean {
  const zone = wildcard.slice(1); // ".zone"
  return name.length > zone.length && name.endsWith(zone);
}
