import type { Config, ListConfig } from '../config/types.js';
import { desiredList } from '../planner/desired.js';
import type { DesiredList } from '../planner/types.js';
import type { Db } from '../store/db.js';
import { loadFailing, loadSightings } from '../store/observations.js';

/** The desired set of one list at `now`, from what the database has observed. */
export function computeDesired(db: Db, config: Config, list: ListConfig, now: number): DesiredList {
  const horizon = Math.max(list.retentionMs, config.staleLimitMs);
  return desiredList({
    list,
    sightings: loadSightings(db, list.names, new Date(now - horizon)),
    statuses: loadFailing(db, list.names),
    staleLimitMs: config.staleLimitMs,
    now,
  });
}
