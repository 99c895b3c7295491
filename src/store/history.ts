import { sortByAddress, within, type Address } from '../address.js';
import { stmt, type Db } from './db.js';

export interface PresenceRow {
  name: string;
  family: string;
  address: string;
  first_seen: string;
  last_seen: string;
  ttl: number;
  resolver: string;
  chain: string | null;
}

export interface FailureRow {
  name: string;
  family: string;
  outcome: string;
  detail: string | null;
  first_at: string;
  last_at: string;
  count: number;
}

/** An uninterrupted run of the same negative answer (NXDOMAIN, NODATA) for a name and family. */
export interface NegativeRow {
  name: string;
  family: string;
  outcome: 'nxdomain' | 'nodata';
  detail: string | null;
  first_at: string;
  last_at: string;
  count: number;
}

export interface HeldRow {
  target: string;
  list: string;
  added_at: string;
  removed_at: string | null;
  added_reason: string;
  removed_reason: string | null;
}

export interface NameHistory {
  kind: 'name';
  name: string;
  presence: (PresenceRow & { shared_with: string[] })[];
  failures: FailureRow[];
  negative: NegativeRow[];
}

export interface AddressHistory {
  kind: 'address';
  address: string;
  presence: PresenceRow[];
  held: HeldRow[];
}

/** Other names that produced the same address at an overlapping time. */
function sharing(db: Db, row: PresenceRow): string[] {
  return (
    stmt(
      db,
      'SELECT DISTINCT name FROM presence_intervals WHERE address = ? AND name != ? AND first_seen <= ? AND last_seen >= ? ORDER BY name',
    ).all(row.address, row.name, row.last_seen, row.first_seen) as { name: string }[]
  ).map((r) => r.name);
}

export function nameHistory(db: Db, name: string, since: string): NameHistory {
  const presence = db
    .prepare(
      'SELECT * FROM presence_intervals WHERE name = ? AND last_seen >= ? ORDER BY first_seen, address',
    )
    .all(name, since) as PresenceRow[];
  const failures = db
    .prepare('SELECT * FROM failures WHERE name = ? AND last_at >= ? ORDER BY first_at')
    .all(name, since) as FailureRow[];
  const negative = db
    .prepare(
      'SELECT name, family, outcome, detail, first_at, last_at, count FROM negative_answers WHERE name = ? AND last_at >= ? ORDER BY first_at, family',
    )
    .all(name, since) as NegativeRow[];
  return {
    kind: 'name',
    name,
    presence: presence.map((p) => ({ ...p, shared_with: sharing(db, p) })),
    failures,
    negative,
  };
}

/** Whether the name was ever looked up (the latest lookup of each name is kept for good). */
export function everLookedUp(db: Db, name: string): boolean {
  return db.prepare('SELECT 1 FROM lookups WHERE name = ? LIMIT 1').get(name) !== undefined;
}

/** Which names produced an address, and when it entered and left which list on which target. */
export function addressHistory(db: Db, address: string, since: string): AddressHistory {
  const presence = db
    .prepare(
      'SELECT * FROM presence_intervals WHERE address = ? AND last_seen >= ? ORDER BY first_seen, name',
    )
    .all(address, since) as PresenceRow[];
  const events = db
    .prepare('SELECT target, list, action, at, reason FROM audit WHERE address = ? ORDER BY seq')
    .all(address) as { target: string; list: string; action: string; at: string; reason: string }[];
  const open = new Map<string, HeldRow>();
  const held: HeldRow[] = [];
  for (const e of events) {
    const key = `${e.target}\u0000${e.list}`;
    if (e.action === 'added') {
      const row: HeldRow = {
        target: e.target,
        list: e.list,
        added_at: e.at,
        removed_at: null,
        added_reason: e.reason,
        removed_reason: null,
      };
      open.set(key, row);
      held.push(row);
    } else {
      const row = open.get(key);
      if (row) {
        row.removed_at = e.at;
        row.removed_reason = e.reason;
        open.delete(key);
      }
    }
  }
  return { kind: 'address', address, presence, held: held.filter((h) => (h.removed_at ?? '9999') >= since) };
}

export interface PrefixHistory {
  kind: 'prefix';
  prefix: string;
  /** Every address inside the prefix that a name answered with or a list held in the period. */
  addresses: AddressHistory[];
}

/**
 * The history of each address inside a prefix. Addresses are stored as text, so the candidates are
 * read once from where addresses occur (answers, the audit log, what lists hold) and matched here.
 */
export function prefixHistory(db: Db, prefix: Address, since: string): PrefixHistory {
  const texts = db
    .prepare('SELECT address FROM presence UNION SELECT address FROM audit UNION SELECT address FROM applied')
    .pluck()
    .all() as string[];
  const addresses = sortByAddress(
    texts.filter((text) => within(text, prefix)),
    (text) => text,
  )
    .map((text) => addressHistory(db, text, since))
    .filter((h) => h.presence.length > 0 || h.held.length > 0);
  return { kind: 'prefix', prefix: prefix.text, addresses };
}
