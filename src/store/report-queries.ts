import type { AuditEntry } from './audit.js';
import type { Db } from './db.js';
import type { LearnedName } from './learned.js';
import type { PushOutcome, RunOutcome } from '../model/run.js';

// What the auditors' report reads from the store. Periods are inclusive, in UTC ISO 8601 text.

/**
 * The names of an audit entry or an applied address, as stored: comma-joined, with `static` among
 * them for a static entry. A report names DNS names only, and says apart that an entry is static.
 */
export function storedNames(stored: string): { names: string[]; static: boolean } {
  const all = stored === '' ? [] : stored.split(',');
  return { names: all.filter((n) => n !== 'static'), static: all.includes('static') };
}

export function auditEntriesIn(db: Db, since: string, until: string): AuditEntry[] {
  return db
    .prepare('SELECT * FROM audit WHERE at >= ? AND at <= ? ORDER BY seq')
    .all(since, until) as AuditEntry[];
}

export interface RunInPeriod {
  id: number;
  started_at: string;
  outcome: RunOutcome;
  config_hash: string;
}

export function runsIn(db: Db, since: string, until: string): RunInPeriod[] {
  return db
    .prepare(
      'SELECT id, started_at, outcome, config_hash FROM runs WHERE started_at >= ? AND started_at <= ? ORDER BY id',
    )
    .all(since, until) as RunInPeriod[];
}

/** The pushes of the runs that started in the period. */
export function pushesOfRunsIn(
  db: Db,
  since: string,
  until: string,
): { run_id: number; target: string; outcome: PushOutcome }[] {
  return db
    .prepare(
      `SELECT run_id, target, outcome FROM pushes
       WHERE run_id IN (SELECT id FROM runs WHERE started_at >= ? AND started_at <= ?)`,
    )
    .all(since, until) as { run_id: number; target: string; outcome: PushOutcome }[];
}

/** Failed lookups (timeout, SERVFAIL, …) in the period, as intervals of consecutive failures. */
export function failuresIn(
  db: Db,
  since: string,
  until: string,
): { name: string; first_at: string; last_at: string }[] {
  return db
    .prepare(
      'SELECT name, first_at, last_at FROM failures WHERE last_at >= ? AND first_at <= ? ORDER BY first_at',
    )
    .all(since, until) as { name: string; first_at: string; last_at: string }[];
}

/**
 * Names that got NXDOMAIN or NODATA in the period and no address at all (in either family): a
 * misspelt or vanished name, which is not a failure and so would otherwise pass unnoticed.
 */
export function namesWithoutAddressIn(db: Db, since: string, until: string): string[] {
  return db
    .prepare(
      `SELECT DISTINCT name FROM negative_answers n WHERE last_at >= ? AND first_at <= ?
         AND NOT EXISTS (SELECT 1 FROM presence_intervals p WHERE p.name = n.name AND p.last_seen >= ? AND p.first_seen <= ?)
       ORDER BY name`,
    )
    .pluck()
    .all(since, until, since, until) as string[];
}

export function targetsFailedIn(db: Db, since: string, until: string): string[] {
  return db
    .prepare(
      "SELECT DISTINCT target FROM pushes WHERE at >= ? AND at <= ? AND outcome IN ('failed', 'partial') ORDER BY target",
    )
    .pluck()
    .all(since, until) as string[];
}

/** What each target list holds now, according to the audit log. */
export function appliedEntries(
  db: Db,
): { target: string; list: string; address: string; names: string; since: string }[] {
  return db
    .prepare('SELECT target, list, address, names, since FROM applied ORDER BY target, list')
    .all() as {
    target: string;
    list: string;
    address: string;
    names: string;
    since: string;
  }[];
}

/** Every target and list the store has a record of, also those no longer configured. */
export function recordedTargetsAndLists(db: Db): {
  targets: string[];
  pairs: { target: string; list: string }[];
} {
  const targets = db
    .prepare('SELECT target FROM audit UNION SELECT target FROM applied UNION SELECT target FROM pushes')
    .pluck()
    .all() as string[];
  const pairs = db.prepare('SELECT target, list FROM audit UNION SELECT target, list FROM applied').all() as {
    target: string;
    list: string;
  }[];
  return { targets, pairs };
}

/** The DNS names the audit log recorded for each of the given lists (comma-joined, as stored). */
export function recordedNamesOfLists(db: Db, lists: readonly string[]): { list: string; names: string }[] {
  return db
    .prepare('SELECT DISTINCT list, names FROM audit WHERE list IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(lists)) as { list: string; names: string }[];
}

/** The latest entries of the audit log, newest first. */
export function latestAuditEntries(db: Db, limit: number): AuditEntry[] {
  return db.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT ?').all(limit) as AuditEntry[];
}

/** Names lists learned from forwarded answers that were known in the period: learned before its end, asked after its start. */
export function learnedIn(db: Db, since: string, until: string): LearnedName[] {
  return db
    .prepare(
      'SELECT * FROM learned WHERE first_learned <= ? AND last_queried >= ? ORDER BY list, first_learned, name',
    )
    .all(until, since) as LearnedName[];
}

/** The names the given lists learned (and still know). */
export function learnedNamesOfLists(db: Db, lists: readonly string[]): string[] {
  return db
    .prepare('SELECT DISTINCT name FROM learned WHERE list IN (SELECT value FROM json_each(?))')
    .pluck()
    .all(JSON.stringify(lists)) as string[];
}
