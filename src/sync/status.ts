import { sortAddresses, type Family } from '../address.js';
import { resolvedNamesOf } from '../config/lists.js';
import type { Config } from '../config/types.js';
import { appliedCount } from '../store/applied.js';
import type { Db } from '../store/db.js';
import { loadLearned, withLearned, type LearnedName } from '../store/learned.js';
import { lastDeliveries, type Delivery } from '../store/notifications.js';
import { lookupStates } from '../store/observations.js';
import { loadLeftovers } from '../store/placements.js';
import { lastRun, latestPushes, type PushRow, type RunRow } from '../store/runs.js';
import { computeDesired, readPresence } from './desired-from-store.js';

export interface NameStatus {
  name: string;
  /** For a name the list learned from forwarded answers: when and from which client, through which entry. */
  learned?: Omit<LearnedName, 'list' | 'name'>;
  lookups: {
    family: Family;
    outcome: string;
    last_success: string | null;
    failing_since: string | null;
    detail: string | null;
  }[];
}

export interface ListStatus {
  list: string;
  addresses: string[];
  /** The wildcard entries the list learns names through (with `forward:`). */
  learns?: string[];
  names: NameStatus[];
  failing: string[];
}

export interface TargetStatus {
  target: string;
  type: string;
  last_push: PushRow | null;
  last_success: string | null;
  entries: Record<string, number>;
}

export interface LeftoverStatus {
  target: string;
  list: string;
  place: string;
  entries: number;
  since: string;
  removal: string;
}

export interface NotificationStatus {
  entry: string;
  /** The last delivery to the entry; null before one. */
  last: Delivery | null;
}

/** What `status` shows, and `status --json` prints as it is; the status page of `serve` shows it too. */
export interface StatusData {
  database: string;
  last_run: RunRow | null;
  lists: ListStatus[];
  targets: TargetStatus[];
  leftovers: LeftoverStatus[];
  notifications: NotificationStatus[];
}

/**
 * Per list its names, their last lookups and the addresses it must hold now; per target its last
 * push and what it holds; places left behind. Read in one go from the database; `now` decides
 * what has aged out.
 */
export function buildStatus(config: Config, db: Db, now: number): StatusData {
  const lookups = lookupStates(db);
  const counts = appliedCount(db);
  const learnedAll = loadLearned(db);
  const learnedRows = new Map(learnedAll.map((l) => [`${l.list}|${l.name}`, l]));
  const known = withLearned(db, [...config.lists.values()], new Date(now), learnedAll);
  const presence = readPresence(db, config, known, now);
  const lists = known.map((list): ListStatus => {
    const desired = computeDesired(db, config, list, now, presence);
    const failing: string[] = [];
    const names = resolvedNamesOf(list).map((name): NameStatus => {
      const states = lookups.get(name);
      if (list.families.some((f) => states?.[f]?.failing_since)) failing.push(name);
      return {
        name,
        ...learnedAs(learnedRows.get(`${list.name}|${name}`)),
        lookups: list.families.map((family) => {
          const l = states?.[family];
          return {
            family,
            outcome: l?.outcome ?? 'never looked up',
            last_success: l?.last_success ?? null,
            failing_since: l?.failing_since ?? null,
            detail: l?.detail ?? null,
          };
        }),
      };
    });
    return {
      list: list.name,
      addresses: sortAddresses(desired.entries.keys()),
      ...(list.wildcards ? { learns: list.wildcards } : {}),
      names,
      failing,
    };
  });
  const pushes = latestPushes(db);
  const targets = [...config.targets.values()].map((t): TargetStatus => {
    const p = pushes.find((x) => x.target === t.name);
    return {
      target: t.name,
      type: t.type,
      last_push: p?.last ?? null,
      last_success: p?.lastOk?.at ?? null,
      entries: Object.fromEntries(counts.filter((c) => c.target === t.name).map((c) => [c.list, c.count])),
    };
  });
  const leftovers = loadLeftovers(db).map((l) => ({
    target: l.target,
    list: l.list,
    place: l.place,
    entries: l.addresses.length,
    since: l.since,
    removal: l.removal,
  }));
  const delivered = lastDeliveries(db);
  const notifications = config.notify.map((n) => ({
    entry: n.label,
    last: delivered.find((d) => d.entry === n.label) ?? null,
  }));
  return {
    database: config.database,
    last_run: lastRun(db) ?? null,
    lists,
    targets,
    leftovers,
    notifications,
  };
}

/** A learned name's account: when and from which client, through which entry. */
function learnedAs(row: LearnedName | undefined): Pick<NameStatus, 'learned'> {
  if (!row) return {};
  const { list: _list, name: _name, ...learned } = row;
  return { learned };
}
