import { namesOf } from '../config/lists.js';
import type { Config, ListConfig } from '../config/types.js';
import { desiredList } from '../planner/desired.js';
import type { DesiredList } from '../planner/types.js';
import type { Db } from '../store/db.js';
import { loadFailing, loadSightings, Presence } from '../store/observations.js';

/** How far back a list's desired set looks: retention, or stale_limit for failing names. */
/** The presence of every list's names (learned and forgotten ones too), read once, from the earliest horizon on. */
export function readPresence(db: Db, config: Config, lists: readonly ListConfig[], now: number): Presence {
  const horizon = Math.max(0, ...lists.map((l) => horizonOf(config, l)));
  return Presence.read(db, new Set(lists.flatMap((l) => namesOf(l))), new Date(now - horizon));
}

function horizonOf(config: Config, list: ListConfig): number {
  return Math.max(list.retentionMs, config.staleLimitMs);
}

/**
 * The desired set of one list at `now`, from what the database has observed; `presence` may hold
 * the intervals already read for all lists of a pass.
 */
export function computeDesired(
  db: Db,
  config: Config,
  list: ListConfig,
  now: number,
  presence?: Presence,
): DesiredList {
  const since = new Date(now - horizonOf(config, list));
  const names = namesOf(list);
  return desiredList({
    list,
    sightings: presence?.sightings(names, since) ?? loadSightings(db, names, since),
    statuses: loadFailing(db, names),
    staleLimitMs: config.staleLimitMs,
    now,
  });
}
