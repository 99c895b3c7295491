import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { Db } from '../store/db.js';
import {
  learnedNamesOfLists,
  recordedNamesOfLists,
  recordedTargetsAndLists,
  storedNames,
} from '../store/report-queries.js';

export interface ReportFilters {
  target?: string[];
  list?: string[];
  name?: string[];
}

/** What a report covers: each part of it asks the same questions. */
export interface Scope {
  target(name: string): boolean;
  list(name: string): boolean;
  /** A DNS name of a list in scope (and one of --name, when given). */
  name(name: string): boolean;
  /** Only some targets count: runs are those that pushed to them. */
  narrowsTargets: boolean;
  /** Only some names count: a run is degraded by their failures only. */
  narrowsNames: boolean;
}

/**
 * The targets, lists and names a report covers. A target or list is known when the configuration
 * has it or the store recorded it (a target removed from the configuration is still reportable for
 * its history). `--list` narrows to the targets carrying the list, `--target` to the target's lists,
 * and either to the names of those lists.
 */
export function reportScope(db: Db, filters: ReportFilters, config?: Config): Scope {
  const recorded = recordedTargetsAndLists(db);
  const pairs = [...recorded.pairs];
  for (const t of config?.targets.values() ?? [])
    for (const list of t.lists.keys()) pairs.push({ target: t.name, list });
  const known = {
    target: new Set([...(config?.targets.keys() ?? []), ...recorded.targets, ...pairs.map((p) => p.target)]),
    list: new Set([...(config?.lists.keys() ?? []), ...pairs.map((p) => p.list)]),
  };
  const wanted = (key: 'target' | 'list') => {
    const values = filters[key];
    if (!values?.length) return undefined;
    for (const v of values)
      if (!known[key].has(v))
        throw new ConfigError(
          `--${key} ${v}: no such ${key} in the configuration or the audit log (known: ${[...known[key]].sort().join(', ') || 'none'})`,
        );
    return new Set(values);
  };
  const wantedTargets = wanted('target');
  const wantedLists = wanted('list');
  const targets =
    wantedTargets ??
    (wantedLists && new Set(pairs.filter((p) => wantedLists.has(p.list)).map((p) => p.target)));
  const lists = wantedTargets
    ? new Set(
        pairs
          .filter((p) => wantedTargets.has(p.target) && (!wantedLists || wantedLists.has(p.list)))
          .map((p) => p.list),
      )
    : wantedLists;
  const names = lists && namesOfLists(db, [...lists], config);
  const byName = filters.name?.length ? new Set(filters.name) : undefined;
  return {
    target: (t) => !targets || targets.has(t),
    list: (l) => !lists || lists.has(l),
    name: (n) => (!names || names.has(n)) && (!byName || byName.has(n)),
    narrowsTargets: targets !== undefined,
    narrowsNames: names !== undefined || byName !== undefined,
  };
}

/** The configured names of the lists, and every name the audit log recorded for them. */
function namesOfLists(db: Db, lists: string[], config?: Config): Set<string> {
  const names = new Set<string>();
  for (const list of lists) for (const n of config?.lists.get(list)?.names ?? []) names.add(n);
  for (const row of recordedNamesOfLists(db, lists))
    for (const n of storedNames(row.names).names) names.add(n);
  for (const n of learnedNamesOfLists(db, lists)) names.add(n);
  return names;
}
