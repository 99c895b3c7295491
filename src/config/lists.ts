import { parseAddress, type Address, type Family } from '../address.js';
import { parseDuration } from '../time.js';
import { expandName } from './names.js';
import { findProfile, PROFILES } from './profiles.js';
import { LIST_NAME, type RawConfig } from './schema.js';
import type { ListConfig, SafetySettings } from './types.js';

/** Static prefixes wider than these need `allow_wide: true` on their list. */
const WIDEST_PREFIX: Record<Family, number> = { ipv4: 8, ipv6: 32 };

export interface ListDefaults {
  retentionMs: number;
  families: Family[];
  safety: SafetySettings;
}

type Fail = (path: PropertyKey[], message: string) => never;

/**
 * The lists of the configuration: those of its profiles, then its own. A list with a profile
 * list's name extends it: its names and static entries are added, its other keys override.
 */
export function buildLists(raw: RawConfig, defaults: ListDefaults, fail: Fail, warn: (m: string) => void) {
  const lists = new Map<string, ListConfig>();
  // With `forward`, wildcards are learned from the answers the forwarder passes on.
  const learning = raw.forward !== undefined;
  (raw.profiles ?? []).forEach((name, i) => {
    for (const list of profileLists(name, defaults, learning, (m) => fail(['profiles', i], m)))
      lists.set(list.name, list);
  });
  for (const [name, rawList] of Object.entries(raw.lists ?? {}))
    lists.set(name, ownList(name, rawList ?? {}, lists.get(name), { defaults, learning }, fail));
  for (const list of lists.values()) {
    if (list.names.length === 0 && list.static.length === 0 && !list.wildcards?.length)
      warn(`lists.${list.name}: has no names and no static entries${list.note ? `: ${list.note}` : ''}`);
  }
  return lists;
}

function profileLists(
  name: string,
  defaults: ListDefaults,
  learning: boolean,
  fail: (m: string) => never,
): ListConfig[] {
  const profile = findProfile(name);
  if (!profile)
    fail(`unknown profile ${JSON.stringify(name)} (known: ${PROFILES.map((p) => p.name).join(', ')})`);
  return profile!.lists.map((pl) => ({
    name: pl.name,
    names: pl.names.flatMap((n) => {
      const r = expandName(n);
      return r.ok ? r.names : [];
    }),
    ...(learning && pl.wildcards ? { wildcards: pl.wildcards } : {}),
    static: [],
    retentionMs: pl.retention ? (parseDuration(pl.retention) ?? defaults.retentionMs) : defaults.retentionMs,
    families: defaults.families,
    maxAddressesPerName: defaults.safety.maxAddressesPerName,
    allowPrivate: defaults.safety.allowPrivate,
    profile: profile!.name,
    ...(pl.note && !(learning && pl.wildcards) ? { note: pl.note } : {}),
  }));
}

type RawList = NonNullable<NonNullable<RawConfig['lists']>[string]>;

function ownList(
  name: string,
  raw: RawList,
  base: ListConfig | undefined,
  { defaults, learning }: { defaults: ListDefaults; learning: boolean },
  fail: Fail,
): ListConfig {
  const path = ['lists', name];
  if (!LIST_NAME.test(name)) {
    fail(
      path,
      'list names start with a letter and hold up to 28 letters, digits or _ (they must fit nft, RouterOS and OPNsense)',
    );
  }
  const names: string[] = [];
  const wildcards: string[] = [];
  (raw.names ?? []).forEach((n, i) => {
    const r = expandName(n, learning);
    if (!r.ok) return fail([...path, 'names', i], r.message);
    names.push(...r.names);
    wildcards.push(...r.wildcards);
  });
  const statics = (raw.static ?? []).map((s, i) => {
    const a =
      parseAddress(s) ?? fail([...path, 'static', i], `${JSON.stringify(s)} is not an IP address or prefix`);
    const widest = WIDEST_PREFIX[a.family];
    if (a.prefix < widest && !raw.allow_wide)
      fail(
        [...path, 'static', i],
        `${JSON.stringify(s)} is wider than /${widest}: an allow-list entry that opens this much is almost always a mistake ` +
          '(set allow_wide: true on the list if it is meant)',
      );
    return a;
  });
  const allow = (raw.allow ?? []).map(
    (s, i): Address =>
      parseAddress(s) ??
      fail(
        [...path, 'allow', i],
        `${JSON.stringify(s)} is not an IP prefix (e.g. 198.51.100.0/24, 2001:db8::/32)`,
      ),
  );
  const list: ListConfig = {
    name,
    names: unique([...(base?.names ?? []), ...names]),
    ...withWildcards(unique([...(base?.wildcards ?? []), ...wildcards])),
    static: uniqueBy([...(base?.static ?? []), ...statics], (a) => a.text),
    retentionMs: raw.retention ?? base?.retentionMs ?? defaults.retentionMs,
    families: raw.families ?? base?.families ?? defaults.families,
    maxAddressesPerName:
      raw.max_addresses_per_name ?? base?.maxAddressesPerName ?? defaults.safety.maxAddressesPerName,
    allowPrivate: raw.allow_private ?? base?.allowPrivate ?? defaults.safety.allowPrivate,
    ...(allow.length > 0 ? { allow } : {}),
    ...(raw.max_remove !== undefined ? { maxRemove: raw.max_remove } : {}),
    ...(base?.profile ? { profile: base.profile } : {}),
  };
  if (base?.note && names.length === 0 && wildcards.length === 0) list.note = base.note;
  return list;
}

const withWildcards = (wildcards: string[]) => (wildcards.length > 0 ? { wildcards } : {});

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

/** Every name a list's addresses come from: configured, learned and forgotten-but-ageing. */
export function namesOf(list: ListConfig): string[] {
  if (!list.learned && !list.forgotten) return list.names;
  return [...list.names, ...(list.learned ?? []), ...(list.forgotten ?? [])];
}

/** The names a pass resolves: the configured ones and those learned within retention of their last query. */
export function resolvedNamesOf(list: ListConfig): string[] {
  return list.learned ? [...list.names, ...list.learned] : list.names;
}
