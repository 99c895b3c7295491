import { parseAddress, type Address } from '../address.js';
import { stableJson } from '../json.js';
import type { ListConfig } from '../config/types.js';
import type { Applied } from '../store/applied.js';
import type { Change } from '../model/change.js';
import type { Placement } from '../store/placements.js';
import { formatDuration } from '../time.js';

/** What of a list's configuration decides what it must hold, as canonical JSON. */
export function listSettings(list: ListConfig): string {
  return stableJson({
    names: [...list.names].sort(),
    static: list.static.map((a) => a.text).sort(),
    retentionMs: list.retentionMs,
    families: [...list.families].sort(),
    maxAddressesPerName: list.maxAddressesPerName,
    allowPrivate: list.allowPrivate,
    allow: (list.allow ?? []).map((a) => a.text).sort(),
  });
}

interface Settings {
  names: string[];
  static: string[];
  retentionMs: number;
  families: ListConfig['families'];
  maxAddressesPerName: number;
  allowPrivate: boolean;
  allow: string[];
}

const addresses = (texts: string[]): Address[] =>
  texts.map((t) => parseAddress(t)).filter((a): a is Address => a !== undefined);

/** The list as it was configured when `settings` were recorded. */
export function listOfSettings(name: string, settings: string): ListConfig {
  const s = JSON.parse(settings) as Settings;
  return {
    name,
    names: s.names,
    static: addresses(s.static),
    retentionMs: s.retentionMs,
    families: s.families,
    maxAddressesPerName: s.maxAddressesPerName,
    allowPrivate: s.allowPrivate,
    ...(s.allow.length > 0 ? { allow: addresses(s.allow) } : {}),
  };
}

/** `retention 20s → 1h; names +b.example.com`: what changed between two recorded settings. */
export function settingsChange(before: string, after: string): string {
  const a = JSON.parse(before) as Settings;
  const b = JSON.parse(after) as Settings;
  const parts: string[] = [];
  const sets = (key: string, x: string[], y: string[]) => {
    const added = y.filter((v) => !x.includes(v));
    const removed = x.filter((v) => !y.includes(v));
    if (added.length + removed.length > 0)
      parts.push(`${key} ${[...added.map((v) => `+${v}`), ...removed.map((v) => `-${v}`)].join(' ')}`);
  };
  sets('names', a.names, b.names);
  sets('static', a.static, b.static);
  if (a.retentionMs !== b.retentionMs)
    parts.push(`retention ${formatDuration(a.retentionMs)} → ${formatDuration(b.retentionMs)}`);
  if (a.families.join() !== b.families.join()) parts.push(`families ${a.families} → ${b.families}`);
  if (a.maxAddressesPerName !== b.maxAddressesPerName)
    parts.push(`max_addresses_per_name ${a.maxAddressesPerName} → ${b.maxAddressesPerName}`);
  if (a.allowPrivate !== b.allowPrivate) parts.push(`allow_private ${a.allowPrivate} → ${b.allowPrivate}`);
  sets('allow', a.allow, b.allow);
  return parts.join('; ') || 'settings changed';
}

const recorded = (
  target: string,
  list: string,
  action: Change['action'],
  address: string,
  known: Applied,
  detail: string,
): Change => ({ target, list, action, address, names: known.names, reason: 'config', detail });

/** A list's place on a target and what the audit log says it holds there, before the diff. */
export interface Whereabouts {
  /** What the audit log says the list's current place holds. */
  applied: Map<string, Applied>;
  /** Entries that came or went because the configuration moved or renamed the list; recorded only. */
  recorded: Change[];
  /** The previous place, when the list has left it. */
  left?: Placement;
  /** The placement of a renamed target or list this one takes over. */
  renamedFrom?: Placement;
  /** The list's configuration as last pushed, when it has changed since. */
  before?: { list: ListConfig; change: string };
}

/**
 * Works out whether the configuration moved the list (another table or folder, another name on
 * the target) or renamed it since the last sync, and what that means for the audit log: the
 * entries the old place holds leave it for reason `config` (and the place is left behind, to be
 * named with its removal command), a renamed list's entries pass to the new name.
 */
export function whereabouts(input: {
  target: string;
  list: ListConfig;
  location: string;
  prior: Placement | undefined;
  /** Placements of targets or lists no longer configured, by location. */
  unconfigured: Map<string, Placement>;
  applied: (target: string, list: string) => Map<string, Applied>;
}): Whereabouts {
  const { target, list, location, prior } = input;
  const name = list.name;
  const now = listSettings(list);
  const before = (settings: string | null | undefined) =>
    settings && settings !== now
      ? { list: listOfSettings(name, settings), change: settingsChange(settings, now) }
      : undefined;
  if (!prior) {
    const old = input.unconfigured.get(location);
    if (!old) return { applied: input.applied(target, name), recorded: [] };
    const applied = input.applied(old.target, old.list);
    const changes = [...applied].flatMap(([address, known]) => [
      recorded(old.target, old.list, 'removed', address, known, `renamed: now ${target}/${name}`),
      recorded(target, name, 'added', address, known, `renamed from ${old.target}/${old.list}`),
    ]);
    const was = before(old.settings);
    return { applied, recorded: changes, renamedFrom: old, ...(was ? { before: was } : {}) };
  }
  const was = before(prior.settings);
  if (prior.location === location)
    return { applied: input.applied(target, name), recorded: [], ...(was ? { before: was } : {}) };
  const left = [...input.applied(target, name)].map(([address, known]) =>
    recorded(target, name, 'removed', address, known, `left in ${prior.place}, no longer this list's place`),
  );
  return { applied: new Map(), recorded: left, left: prior, ...(was ? { before: was } : {}) };
}
