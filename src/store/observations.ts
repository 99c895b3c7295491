import type { Family } from '../address.js';
import type { NameStatus, Sighting } from '../planner/types.js';
import { isSuccess, type LookupResult } from '../resolver/types.js';
import { stmt, type Db } from './db.js';

interface LookupRow {
  name: string;
  family: Family;
  last_attempt: string;
  last_success: string | null;
  outcome: string;
  detail: string | null;
  failing_since: string | null;
  ttl: number | null;
  resolver: string | null;
  chain: string | null;
}

/** Above this many names, one read of a whole table beats one indexed query per name. */
const BULK = 256;

export interface LookupRecorder {
  /** Records one finished lookup at `at`. Must run inside the caller's transaction. */
  record(result: LookupResult, at: Date): void;
}

/** What recording needs of a (name, family)'s previous state. */
interface Previous {
  last_attempt: string;
  last_success: string | null;
}

/**
 * Records the lookups of one pass as they finish: extends the presence interval of every address
 * that was also in the previous successful answer, opens a new interval for the others, and keeps
 * failure intervals. `expected` is how many lookups the pass will record, each (name, family) once.
 */
export function lookupRecorder(db: Db, expected: number): LookupRecorder {
  // A sync records thousands at once: one read of every previous state beats a query per lookup.
  // A watch wake-up records a few: then the indexed query per lookup is the cheaper one.
  let previous: (r: LookupResult) => Previous | undefined;
  if (expected > BULK) {
    const byFamily = { ipv4: new Map<string, Previous>(), ipv6: new Map<string, Previous>() };
    for (const row of stmt(
      db,
      'SELECT name, family, last_attempt, last_success FROM lookups',
    ).all() as (Previous & {
      name: string;
      family: Family;
    })[])
      byFamily[row.family]?.set(row.name, row);
    previous = (r) => byFamily[r.family].get(r.name);
  } else {
    const one = stmt(db, 'SELECT last_attempt, last_success FROM lookups WHERE name = ? AND family = ?');
    previous = (r) => one.get(r.name, r.family) as Previous | undefined;
  }
  const extend = stmt(
    db,
    `UPDATE presence SET last_seen = ?, ttl = ?, resolver = ?, chain = ?
     WHERE name = ? AND family = ? AND address = ? AND last_seen = ?`,
  );
  const open = stmt(
    db,
    `INSERT INTO presence (name, family, address, first_seen, last_seen, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const lastFailure = stmt(
    db,
    'SELECT id, outcome, last_at FROM failures WHERE name = ? AND family = ? ORDER BY id DESC LIMIT 1',
  );
  const continueFailure = stmt(
    db,
    'UPDATE failures SET last_at = ?, count = count + 1, detail = ? WHERE id = ?',
  );
  const openFailure = stmt(
    db,
    'INSERT INTO failures (name, family, outcome, detail, first_at, last_at, count) VALUES (?, ?, ?, ?, ?, ?, 1)',
  );
  // Positional parameters: binding named ones costs an object per lookup.
  const upsert = stmt(
    db,
    `INSERT INTO lookups (name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name, family) DO UPDATE SET
       last_attempt = excluded.last_attempt,
       last_success = coalesce(excluded.last_success, last_success),
       outcome = excluded.outcome,
       detail = excluded.detail,
       failing_since = CASE WHEN excluded.last_success IS NULL THEN coalesce(failing_since, excluded.last_attempt) ELSE NULL END,
       ttl = coalesce(excluded.ttl, ttl),
       resolver = excluded.resolver,
       chain = coalesce(excluded.chain, chain)`,
  );
  let lastAt: Date | undefined;
  let now = '';

  return {
    record(result, at) {
      if (at !== lastAt) {
        lastAt = at;
        now = at.toISOString();
      }
      const prev = previous(result);
      const chain = result.chain.length > 1 ? result.chain.join(' > ') : null;
      const success = isSuccess(result.outcome);
      if (success) {
        for (const a of result.addresses) {
          const changed = prev?.last_success
            ? extend.run(
                now,
                a.ttl,
                result.resolver,
                chain,
                result.name,
                result.family,
                a.address,
                prev.last_success,
              ).changes
            : 0;
          if (changed === 0)
            open.run(result.name, result.family, a.address, now, now, a.ttl, result.resolver, chain);
        }
      } else {
        const last = lastFailure.get(result.name, result.family) as
          { id: number; outcome: string; last_at: string } | undefined;
        if (last && last.outcome === result.outcome && prev && last.last_at === prev.last_attempt) {
          continueFailure.run(now, result.detail ?? null, last.id);
        } else {
          openFailure.run(result.name, result.family, result.outcome, result.detail ?? null, now, now);
        }
      }
      upsert.run(
        result.name,
        result.family,
        now,
        success ? now : null,
        result.outcome,
        result.detail ?? null,
        success ? null : now,
        result.ttl ?? null,
        result.resolver,
        chain,
      );
    },
  };
}

/** Records the lookups of one pass, all at `at`. Must run inside the caller's transaction. */
export function recordLookups(db: Db, results: readonly LookupResult[], at: Date): void {
  const recorder = lookupRecorder(db, results.length);
  for (const result of results) recorder.record(result, at);
}

/** Presence intervals of the given names that ended at or after `since`, merged per address. */
export function loadSightings(db: Db, names: readonly string[], since: Date): Sighting[] {
  const cutoff = since.toISOString();
  const out: Sighting[] = [];
  const push = (row: SightingRow) =>
    out.push({
      name: row.name,
      family: row.family,
      address: row.address,
      firstSeen: Date.parse(row.first_seen),
      lastSeen: Date.parse(row.last_seen),
    });
  if (names.length > BULK) {
    const wanted = new Set(names);
    const rows = stmt(
      db,
      `SELECT name, family, address, min(first_seen) AS first_seen, max(last_seen) AS last_seen
       FROM presence WHERE last_seen >= ? GROUP BY name, family, address`,
    ).all(cutoff) as SightingRow[];
    for (const row of rows) if (wanted.has(row.name)) push(row);
    return out;
  }
  const query = stmt(
    db,
    `SELECT name, family, address, min(first_seen) AS first_seen, max(last_seen) AS last_seen
     FROM presence WHERE name = ? AND last_seen >= ? GROUP BY family, address`,
  );
  for (const name of names) for (const row of query.all(name, cutoff) as SightingRow[]) push(row);
  return out;
}

interface SightingRow {
  name: string;
  family: Family;
  address: string;
  first_seen: string;
  last_seen: string;
}

const STATUS_COLUMNS = 'name, family, last_success, failing_since, outcome, detail';

export function loadStatuses(db: Db, names: readonly string[]): NameStatus[] {
  const out: NameStatus[] = [];
  const push = (row: LookupRow) =>
    out.push({
      name: row.name,
      family: row.family,
      lastSuccess: row.last_success ? Date.parse(row.last_success) : undefined,
      failing: row.failing_since !== null,
      outcome: row.outcome,
      ...(row.detail ? { detail: row.detail } : {}),
    });
  if (names.length > BULK) {
    const wanted = new Set(names);
    for (const row of stmt(db, `SELECT ${STATUS_COLUMNS} FROM lookups`).all() as LookupRow[])
      if (wanted.has(row.name)) push(row);
    return out;
  }
  const query = stmt(db, `SELECT ${STATUS_COLUMNS} FROM lookups WHERE name = ?`);
  for (const name of names) for (const row of query.all(name) as LookupRow[]) push(row);
  return out;
}

export function allLookups(db: Db): LookupRow[] {
  return stmt(db, 'SELECT * FROM lookups ORDER BY name, family').all() as LookupRow[];
}
