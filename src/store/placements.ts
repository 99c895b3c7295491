import { stmt, type Db } from './db.js';

/** Where a list lives on a target, as the target describes it. */
export interface Place {
  /** Identity of the place: two syncs that give the same text wrote to the same place. */
  location: string;
  /** The place in words: `set web_v4 and web_v6 in table inet dnsfence`. */
  place: string;
  /** What removes it there: a command an admin can run. */
  removal: string;
  /** What the target's type needs to look whether the place is still there, once left behind. */
  probe?: unknown;
}

export interface Placement extends Place {
  target: string;
  list: string;
  /** The target's type. */
  type: string;
  /** The list's settings as the last successful push applied them (canonical JSON). */
  settings: string | null;
  since: string;
}

export interface Leftover extends Place {
  id: number;
  target: string;
  type: string;
  list: string;
  addresses: string[];
  since: string;
}

type Row<T> = Omit<T, 'probe'> & { probe: string | null };
const probeOf = (text: string | null) => (text === null ? {} : { probe: JSON.parse(text) as unknown });

export function loadPlacements(db: Db): Placement[] {
  return (stmt(db, 'SELECT * FROM placements ORDER BY target, list').all() as Row<Placement>[]).map(
    ({ probe, ...p }) => ({ ...p, ...probeOf(probe) }),
  );
}

/** Records where a list lives now; its settings stay those of the last successful push. */
export function savePlace(
  db: Db,
  at: { target: string; list: string; type: string },
  place: Place,
  when: Date,
): void {
  stmt(
    db,
    `INSERT INTO placements (target, list, type, location, place, removal, probe, settings, since) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)
     ON CONFLICT (target, list) DO UPDATE SET type = excluded.type, location = excluded.location, place = excluded.place,
       removal = excluded.removal, probe = excluded.probe,
       since = CASE WHEN location = excluded.location THEN since ELSE excluded.since END`,
  ).run(
    at.target,
    at.list,
    at.type,
    place.location,
    place.place,
    place.removal,
    probeText(place),
    when.toISOString(),
  );
}

export function saveSettings(db: Db, target: string, list: string, settings: string): void {
  stmt(db, 'UPDATE placements SET settings = ? WHERE target = ? AND list = ?').run(settings, target, list);
}

export function dropPlacement(db: Db, target: string, list: string): void {
  stmt(db, 'DELETE FROM placements WHERE target = ? AND list = ?').run(target, list);
}

const probeText = (place: Place) => (place.probe === undefined ? null : JSON.stringify(place.probe));

export function loadLeftovers(db: Db): Leftover[] {
  return (
    stmt(db, 'SELECT * FROM leftovers ORDER BY id').all() as (Row<Omit<Leftover, 'addresses'>> & {
      addresses: string;
    })[]
  ).map(({ probe, ...r }) => ({ ...r, addresses: JSON.parse(r.addresses) as string[], ...probeOf(probe) }));
}

export function addLeftover(
  db: Db,
  left: { target: string; list: string; type: string },
  place: Place,
  addresses: string[],
  at: Date,
): void {
  // A place left twice (moved away, back, and away again) is one leftover, the latest.
  stmt(db, 'DELETE FROM leftovers WHERE location = ?').run(place.location);
  stmt(
    db,
    'INSERT INTO leftovers (target, list, type, location, place, removal, probe, addresses, since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(
    left.target,
    left.list,
    left.type,
    place.location,
    place.place,
    place.removal,
    probeText(place),
    JSON.stringify(addresses),
    at.toISOString(),
  );
}

/** A place removed since it was left behind. */
export function dropLeftover(db: Db, id: number): void {
  stmt(db, 'DELETE FROM leftovers WHERE id = ?').run(id);
}

/** A place in use again is no longer left behind. */
export function dropLeftoversAt(db: Db, location: string): void {
  stmt(db, 'DELETE FROM leftovers WHERE location = ?').run(location);
}
