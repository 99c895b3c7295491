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

/**
 * Records the lookups of one pass as they finish: extends the presence interval of every address
 * that was also in the previous successful answer, opens a new interval for the others, and keeps
 * failure intervals. `expected` is how many lookups the pass will record, each (name, family) once.
 */
export function lookupRecorder(db: Db, expected: number): LookupRecorder {
  // A sync records thousands at once: one read of every previous state beats a query per lookup.
  // A watch wake-up records a few: then the indexed query per lookup is the cheaper one.
  let previous: (r: LookupResult) => LookupRow | undefined;
  if (expected > BULK) {
    const all = new Map(
      (stmt(db, 'SELECT * FROM lookups').all() as LookupRow[]).map((r) => [`${r.family} ${r.name}`, r]),
    );
    previous = (r) => all.get(`${r.family} ${r.name}`);
  } else {
    const one = stmt(db, 'SELECT * FROM lookups WHERE name = ? AND family = ?');
    previous = (r) => one.get(r.name, r.family) as LookupRow | undefined;
  }
  return { record: (result, at) => recordLookup(db, result, at, previous(result)) };
}

/** Records the lookups of one pass, all at `at`. Must run inside the caller's transaction. */
export function recordLookups(db: Db, results: readonly LookupResult[], at: Date): void {
  const recorder = lookupRecorder(db, results.length);
  for (const result of results) recorder.record(result, at);
}

function recordLookup(db: Db, result: LookupResult, at: Date, prev: LookupRow | undefined): void {
  const now = at.toISOString();
  const chain = result.chain.length > 1 ? result.chain.join(' > ') : null;
  if (isSuccess(result.outcome)) {
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
    const last = stmt(
      db,
      'SELECT id, outcome, last_at FROM failures WHERE name = ? AND family = ? ORDER BY id DESC LIMIT 1',
    ).get(result.name, result.family) as { id: number; outcome: string; last_at: string } | undefined;
    if (last && last.outcome === result.outcome && prev && last.last_at === prev.last_attempt) {
      stmt(db, 'UPDATE failures SET last_at = ?, count = count + 1, detail = ? WHERE id = ?').run(
        now,
        result.detail ?? null,
        last.id,
      );
    } else {
      stmt(
        db,
        'INSERT INTO failures (name, family, outcome, detail, first_at, last_at, count) VALUES (?, ?, ?, ?, ?, ?, 1)',
      ).run(result.name, result.family, result.outcome, result.detail ?? null, now, now);
    }
  }
  const success = isSuccess(result.outcome);
  stmt(
    db,
    `INSERT INTO lookups (name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain)
     VALUES (@name, @family, @now, @success, @outcome, @detail, @failing, @ttl, @resolver, @chain)
     ON CONFLICT (name, family) DO UPDATE SET
       last_attempt = @now,
       last_success = coalesce(@success, last_success),
       outcome = @outcome,
       detail = @detail,
       failing_since = CASE WHEN @success IS NULL THEN coalesce(failing_since, @now) ELSE NULL END,
       ttl = coalesce(@ttl, ttl),
       resolver = @resolver,
       chain = coalesce(@chain, chain)`,
  ).run({
    name: result.name,
    family: result.family,
    now,
    success: success ? now : null,
    outcome: result.outcome,
    detail: result.detail ?? null,
    failing: success ? null : now,
    ttl: result.ttl ?? null,
    resolver: result.resolver,
    chain,
  });
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
    for (const row of stmt(db, 'SELECT * FROM lookups').all() as LookupRow[])
      if (wanted.has(row.name)) push(row);
    return out;
  }
  const query = stmt(db, 'SELECT * FROM lookups WHERE name = ?');
  for (const name of names) for (const row of query.all(name) as LookupRow[]) push(row);
  return out;
}

export function allLookups(db: Db): LookupRow[] {
  return stmt(db, 'SELECT * FROM lookups ORDER BY name, family').all() as LookupRow[];
}
