/** An entry the audit log says a target list holds, with the names it was recorded with. */
export interface Applied {
  names: string[];
}
import type { Db } from './db.js';

/** What the audit log says one target list holds. */
export function loadApplied(db: Db, target: string, list: string): Map<string, Applied> {
  const rows = db
    .prepare('SELECT address, names FROM applied WHERE target = ? AND list = ?')
    .all(target, list) as {
    address: string;
    names: string;
  }[];
  return new Map(rows.map((r) => [r.address, { names: r.names === '' ? [] : r.names.split(',') }]));
}

export function appliedCount(db: Db): { target: string; list: string; count: number }[] {
  return db
    .prepare(
      'SELECT target, list, count(*) AS count FROM applied GROUP BY target, list ORDER BY target, list',
    )
    .all() as {
    target: string;
    list: string;
    count: number;
  }[];
}
