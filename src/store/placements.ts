import { stmt, type Db } from './db.js';

/** Where a list lives on a target, as the target describes it. */
export interface Place {
  /** Identity of the place: two syncs that give the same text wrote to the same place. */
  location: string;
  /** The place in words: `set web_v4 and web_v6 in table inet dnsfence`. */
  place: string;
  /** What removes it there: a command an admin can run. */
  removal: string;
}

export interface Placement extends Place {
  target: string;
  list: string;
  /** The list's settings as the last successful push applied them (canonical JSON). */
  settings: string | null;
  since: string;
}

export interface Leftover extends Place {
  id: number;
  target: string;
  list: string;
  addresses: string[];
  since: string;
}

export function loadPlacements(db: Db): Placement[] {
  return stmt(db, 'SELECT * FROM placements ORDER BY target, list').all() as Placement[];
}

/** Records where a list lives now; its settings stay those of the last successful push. */
export function savePlace(db: Db, target: string, list: string, place: Place, at: Date): void {
  stmt(
    db,
    `INSERT INTO placements (target, list, location, place, removal, settings, since) VALUES (?, ?, ?, ?, ?, NULL, ?)
     ON CONFLICT (target, list) DO UPDATE SET location = excluded.location, place = excluded.place,
       removal = excluded.removal, since = CASE WHEN location = excluded.location THEN since ELSE excluded.since END`,
  ).run(target, list, place.location, place.place, place.removal, at.toISOString());
}

export function saveSettings(db: Db, target: string, list: string, settings: string): void {
  stmt(db, 'UPDATE placements SET settings = ? WHERE target = ? AND list = ?').run(settings, target, list);
}

export function dropPlacement(db: Db, target: string, list: string): void {
  stmt(db, 'DELETE FROM placements WHERE target = ? AND list = ?').run(target, list);
}

export function loadLeftovers(db: Db): Leftover[] {
  return (
    stmt(db, 'SELECT * FROM leftovers ORDER BY id').all() as (Omit<Leftover, 'addresses'> & {
      addresses: string;
    })[]
  ).map((r) => ({ ...r, addresses: JSON.parse(r.addresses) as string[] }));
}

export function addLeftover(
  db: Db,
  target: string,
  list: string,
  place: Place,
  addresses: string[],
  at: Date,
): void {
  // A place left twice (moved away, back, and away again) is one leftover, the latest.
  stmt(db, 'DELETE FROM leftovers WHERE location = ?').run(place.location);
  stmt(
    db,
    'INSERT INTO leftovers (target, list, location, place, removal, addresses, since) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(
    target,
    list,
    place.location,
    place.place,
    place.removal,
    JSON.stringify(addresses),
    at.toISOString(),
  );
}

/** A place in use again is no longer left behind. */
export function dropLeftoversAt(db: Db, location: string): void {
  stmt(db, 'DELETE FROM leftovers WHERE location = ?').run(location);
}
