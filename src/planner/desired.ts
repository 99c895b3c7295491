import { insideAny, parseAddress, type Family } from '../address.js';
import ipaddr from 'ipaddr.js';
import { namesOf } from '../config/lists.js';
import type { ListConfig } from '../config/types.js';
import { droppedAnswer } from './hygiene.js';
import type { NameStatus, Sighting } from '../model/observation.js';
import type { Covered, DesiredEntry, DesiredList, ExcludedEntry, Rejected } from './types.js';
import { formatDuration } from '../time.js';

export interface DesiredInput {
  list: ListConfig;
  /** Presence of the list's names (merged per name and address). */
  sightings: Sighting[];
  /** The state of the list's failing lookups (others need none). */
  statuses: NameStatus[];
  staleLimitMs: number;
  now: number;
}

/**
 * The set a list must hold: static entries, plus every address one of
 * its names returned within retention, plus — while a name's lookups fail — the addresses of
 * its last good answer for at most stale_limit. Per name at most max_addresses_per_name
 * addresses, the least recently seen evicted first. An address produced by several names
 * stays while any of them produces it.
 */
export function desiredList(input: DesiredInput): DesiredList {
  const { list, now } = input;
  const entries = new Map<string, DesiredEntry>();
  const excluded = new Map<string, ExcludedEntry>();
  const rejected: Rejected[] = [];
  const staleNames = new Set<string>();
  const families = new Set(list.families);
  const configured = new Set(namesOf(list));
  const status = new Map(input.statuses.map((s) => [`${s.name}|${s.family}`, s]));

  for (const s of list.static) {
    if (!families.has(s.family)) continue;
    entries.set(s.text, { address: s.text, family: s.family, names: ['static'], source: 'static' });
  }

  const byName = new Map<string, Sighting[]>();
  for (const s of input.sightings) {
    if (!configured.has(s.name) || !families.has(s.family)) continue;
    const known = byName.get(s.name);
    if (known) known.push(s);
    else byName.set(s.name, [s]);
  }

  const exclude = (s: Sighting, reason: ExcludedEntry['reason'], detail: string) => {
    const prior = excluded.get(s.address);
    const names = prior ? [...new Set([...prior.names, s.name])].sort() : [s.name];
    // When several names disagree, the least drastic reason wins for the record: expired < evicted < config.
    const rank = { expired: 0, evicted: 1, config: 2 };
    const keep =
      prior && rank[prior.reason] <= rank[reason]
        ? prior
        : { address: s.address, family: s.family, names, reason, detail };
    excluded.set(s.address, { ...keep, names });
  };

  for (const [name, sightings] of byName) {
    const kept: { s: Sighting; stale: boolean }[] = [];
    for (const s of sightings) {
      const dropped = droppedAnswer(list, s.address);
      // Reported when it arrives, not again on every pass while it is within retention.
      const fresh = s.lastSeen === now;
      if (dropped?.kind === 'range') {
        if (fresh)
          rejected.push({
            name,
            address: s.address,
            why: 'range',
            range: dropped.range,
            privateWouldPass: dropped.privateWouldPass,
          });
        exclude(s, 'config', `answer hygiene: ${dropped.range} address`);
        continue;
      }
      if (dropped?.kind === 'allow') {
        if (fresh) rejected.push({ name, address: s.address, why: 'outside-allow' });
        exclude(s, 'config', "outside the list's allow prefixes");
        continue;
      }
      if (now - s.lastSeen <= list.retentionMs) {
        kept.push({ s, stale: false });
        continue;
      }
      const st = status.get(`${name}|${s.family}`);
      const inLastGoodAnswer = st?.lastSuccess !== undefined && s.lastSeen === st.lastSuccess;
      if (st?.failing && inLastGoodAnswer && now - (st.lastSuccess as number) <= input.staleLimitMs) {
        kept.push({ s, stale: true });
        staleNames.add(name);
        continue;
      }
      exclude(
        s,
        'expired',
        `last seen ${new Date(s.lastSeen).toISOString()}, retention ${formatDuration(list.retentionMs)}`,
      );
    }
    kept.sort(
      (a, b) =>
        b.s.lastSeen - a.s.lastSeen ||
        b.s.firstSeen - a.s.firstSeen ||
        // Plain code-unit order: localeCompare would depend on the locale and load ICU's collator.
        (a.s.address < b.s.address ? -1 : a.s.address > b.s.address ? 1 : 0),
    );
    kept.forEach(({ s, stale }, i) => {
      if (i >= list.maxAddressesPerName) {
        exclude(s, 'evicted', `over max_addresses_per_name ${list.maxAddressesPerName} for ${name}`);
        return;
      }
      const prior = entries.get(s.address);
      if (prior) {
        // Sorted once all names are in: a CDN's address, shared by hundreds of names, was re-sorted per name.
        if (!prior.names.includes(name)) prior.names.push(name);
        if (prior.source === 'stale' && !stale) prior.source = 'dns';
      } else {
        entries.set(s.address, {
          address: s.address,
          family: s.family,
          names: [name],
          source: stale ? 'stale' : 'dns',
        });
      }
    });
  }
  for (const [address, entry] of entries) {
    if (entry.names.length > 1) entry.names.sort();
    excluded.delete(address);
  }
  const covered = dropCovered(entries, excluded);
  return {
    list: list.name,
    names: configured,
    entries,
    covered,
    excluded,
    staleNames: [...staleNames].sort(),
    rejected,
  };
}

/**
 * An entry inside a prefix the list already holds is redundant, and interval sets (nftables)
 * refuse overlapping elements: keep the prefix only. The entries it covers are returned, for a
 * target that cannot hold the prefix (an OPNsense host alias takes no prefixes) and holds them.
 */
function dropCovered(
  entries: Map<string, DesiredEntry>,
  excluded: Map<string, ExcludedEntry>,
): Map<string, Covered> {
  const covered = new Map<string, Covered>();
  // Entries are normalised: host addresses carry no prefix length, so only a '/' marks a prefix.
  const prefixes = [...entries.values()]
    .filter((e) => e.address.includes('/'))
    .map((e) => ({ e, a: parseAddress(e.address) }))
    .filter((p) => p.a && p.a.prefix < (p.a.family === 'ipv4' ? 32 : 128))
    .map((p) => ({ text: p.e.address, cidr: ipaddr.parseCIDR(p.e.address) }));
  if (prefixes.length === 0) return covered;
  for (const entry of [...entries.values()]) {
    const [addr, len] = entry.address.includes('/')
      ? ipaddr.parseCIDR(entry.address)
      : [ipaddr.parse(entry.address), 999];
    const cover = prefixes.find(
      (p) =>
        p.text !== entry.address &&
        p.cidr[0].kind() === addr.kind() &&
        p.cidr[1] <= len &&
        addr.match(p.cidr),
    );
    if (cover) {
      entries.delete(entry.address);
      covered.set(entry.address, { entry, by: cover.text });
      excluded.set(entry.address, {
        address: entry.address,
        family: entry.family,
        names: entry.names,
        reason: 'config',
        detail: `covered by ${cover.text} in the same list`,
      });
    }
  }
  return covered;
}

/**
 * The addresses of a fresh answer for one of the list's names that its desired set holds from now
 * on, by the rules of desiredList: answer hygiene and the allow prefixes, the list's families, and
 * the per-name cap (a fresh answer is the most recently seen: its addresses go first, in address
 * order). One a static prefix of the list covers is left out: the prefix holds it.
 */
export function freshEntries(list: ListConfig, family: Family, addresses: readonly string[]): string[] {
  if (!list.families.includes(family)) return [];
  const taken = addresses
    .filter((a) => droppedAnswer(list, a) === undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, list.maxAddressesPerName);
  const prefixes = list.static.filter((s) => s.prefix < (s.family === 'ipv4' ? 32 : 128));
  return prefixes.length === 0 ? taken : taken.filter((a) => !insideAny(a, prefixes));
}
