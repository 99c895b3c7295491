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

/**
 * Records the lookups of one pass: extends the presence interval of every address that was also
 * in the previous successful answer, opens a new interval for the others, and keeps failure
 * intervals. Must run inside the caller's transaction.
 */
export function recordLookups(db: Db, results: readonly LookupResult[], at: Date): void {
  // A sync records thousands at once: one read of every previous state beats a query per lookup.
  // A watch wake-up records a few: then the indexed query per lookup is the cheaper one.
  let previous: (r: LookupResult) => LookupRow | undefined;
  if (results.length > 256) {
    const all = new Map(
      (stmt(db, 'SELECT * FROM lookups').all() as LookupRow[]).map((r) => [`${r.family} ${r.name}`, r]),
    );
    previous = (r) => all.get(`${r.family} ${r.name}`);
  } else {
    const one = stmt(db, 'SELECT * FROM lookups WHERE name = ? AND family = ?');
    previous = (r) => one.get(r.name, r.family) as LookupRow | undefined;
  }
  for (const result of results) recordLookup(db, result, at, previous(result));
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
  const query = stmt(
    db,
    `SELECT family, address, min(first_seen) AS first_seen, max(last_seen) AS last_seen
     FROM presence WHERE name = ? AND last_seen >= ? GROUP BY family, address`,
  );
  const out: Sighting[] = [];
  const cutoff = since.toISOString();
  for (const name of names) {
    for (const row of query.all(name, cutoff) as {
      family: Family;
      address: string;
      first_seen: string;
      last_seen: string;
    }[]) {
      out.push({
        name,
        family: row.family,
        address: row.address,
        firstSeen: Date.parse(row.first_seen),
        lastSeen: Date.parse(row.last_seen),
      });
    }
  }
  return out;
}

export function loadStatuses(db: Db, names: readonly string[]): NameStatus[] {
  const query = stmt(db, 'SELECT * FROM lookups WHERE name = ?');
  const out: NameStatus[] = [];
  for (const name of names) {
    for (const row of query.all(name) as LookupRow[]) {
      out.push({
        name,
        family: row.family,
        lastSuccess: row.last_success ? Date.parse(row.last_success) : undefined,
        failing: row.failing_since !== null,
        outcome: row.outcome,
        ...(row.detail ? { detail: row.detail } : {}),
      });
    }
  }
  return out;
}

export function allLookups(db: Db): LookupRow[] {
  return stmt(db, 'SELECT * FROM lookups ORDER BY name, family').all() as LookupRow[];
}
