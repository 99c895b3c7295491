import type { Db } from './db.js';

export type DeliveryOutcome = 'delivered' | 'failed';

/** One notification sent to one configured entry. */
export interface Delivery {
  run_id: number | null;
  at: string;
  /** The entry as configured (`notify[0] webhook (url_env HOOK_URL)`); never its URL. */
  entry: string;
  events: string[];
  outcome: DeliveryOutcome;
  tries: number;
  detail: string | null;
}

interface DeliveryRow extends Omit<Delivery, 'events'> {
  events: string;
}

const COLUMNS = 'run_id, at, entry, events, outcome, tries, detail';

const fromRow = (r: DeliveryRow): Delivery => ({ ...r, events: JSON.parse(r.events) as string[] });

export function recordDelivery(db: Db, d: Delivery): void {
  db.prepare(
    `INSERT INTO notifications (run_id, at, entry, events, outcome, tries, detail)
     VALUES (@run_id, @at, @entry, @events, @outcome, @tries, @detail)`,
  ).run({ ...d, events: JSON.stringify(d.events) });
}

/** The latest delivery of each entry ever recorded. */
export function lastDeliveries(db: Db): Delivery[] {
  const rows = db
    .prepare(
      `SELECT ${COLUMNS} FROM notifications
       WHERE id IN (SELECT max(id) FROM notifications GROUP BY entry) ORDER BY entry`,
    )
    .all() as DeliveryRow[];
  return rows.map(fromRow);
}

/** The deliveries of a period (inclusive, UTC ISO 8601 text), oldest first. */
export function deliveriesIn(db: Db, since: string, until: string): Delivery[] {
  const rows = db
    .prepare(`SELECT ${COLUMNS} FROM notifications WHERE at >= ? AND at <= ? ORDER BY id`)
    .all(since, until) as DeliveryRow[];
  return rows.map(fromRow);
}
