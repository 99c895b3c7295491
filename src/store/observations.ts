import type { Family } from '../address.js';
import type { NameStatus, Sighting } from '../model/observation.js';
import { isSuccess, type LookupResult, type Outcome } from '../resolver/types.js';
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
 * intervals of failures and of negative answers (NXDOMAIN, NODATA). Each (name, family) is
 * recorded once per pass.
 */
export function lookupRecorder(db: Db): LookupRecorder {
  // The previous answer's time is looked up inside the UPDATE: reading every name's previous
  // state first cost a 10,000-name sync 0.15 s before its first query went out.
  const extend = stmt(
    db,
    `UPDATE presence SET last_seen = ?, ttl = ?, resolver = ?, chain = ?
     WHERE name = ? AND family = ? AND address = ?
       AND last_seen = (SELECT last_success FROM lookups WHERE name = ? AND family = ?)`,
  );
  const lastAttempt = stmt(db, 'SELECT last_attempt FROM lookups WHERE name = ? AND family = ?');
  const open = stmt(
    db,
    `INSERT INTO presence (name, family, address, first_seen, last_seen, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const failures = intervalLog(db, 'failures');
  // Rare (a misspelt or vanished name), so the extra statements cost a sync of live names nothing.
  const negatives = intervalLog(db, 'negative_answers');
  // Positional parameters: binding named ones costs an object per lookup. An UPDATE, and an INSERT
  // only for a name never looked up before, costs half of an INSERT … ON CONFLICT DO UPDATE. A
  // failure keeps the last success and starts failing_since unless it runs already; a success
  // clears it.
  const known = stmt(
    db,
    `UPDATE lookups SET last_attempt = ?, last_success = coalesce(?, last_success), outcome = ?, detail = ?,
       failing_since = CASE WHEN ? IS NULL THEN coalesce(failing_since, ?) END,
       ttl = coalesce(?, ttl), resolver = ?, chain = coalesce(?, chain)
     WHERE name = ? AND family = ?`,
  );
  const first = stmt(
    db,
    `INSERT INTO lookups (name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let lastAt: Date | undefined;
  let now = '';
  // A store that has never recorded a lookup (a first sync) has no interval to extend and no
  // lookup to update: both UPDATEs would find nothing, and skipping them halves the statements of
  // a first sync. The keys recorded meanwhile are kept so that a second lookup of the same name
  // in one pass still finds the first.
  const fresh = stmt(db, 'SELECT 1 FROM lookups LIMIT 1').get() === undefined;
  const recorded = new Set<string>();
  const isNew = (result: LookupResult) => {
    if (!fresh) return false;
    const key = `${result.family} ${result.name}`;
    if (recorded.has(key)) return false;
    recorded.add(key);
    return true;
  };

  return {
    record(result, at) {
      if (at !== lastAt) {
        lastAt = at;
        now = at.toISOString();
      }
      const chain = result.chain.length > 1 ? result.chain.join(' > ') : null;
      const detail = result.detail ?? null;
      const ttl = result.ttl ?? null;
      const lastSuccess = isSuccess(result.outcome) ? now : null;
      const unknown = isNew(result);
      if (lastSuccess) {
        for (const a of result.addresses) {
          const changed = unknown
            ? 0
            : extend.run(
                now,
                a.ttl,
                result.resolver,
                chain,
                result.name,
                result.family,
                a.address,
                result.name,
                result.family,
              ).changes;
          if (changed === 0)
            open.run(result.name, result.family, a.address, now, now, a.ttl, result.resolver, chain);
        }
      }
      const log = lastSuccess ? (isNegative(result.outcome) ? negatives : undefined) : failures;
      if (log) {
        const prev = unknown
          ? undefined
          : (lastAttempt.get(result.name, result.family) as { last_attempt: string } | undefined);
        log(result, now, detail, prev?.last_attempt);
      }
      const updated = unknown
        ? 0
        : known.run(
            now,
            lastSuccess,
            result.outcome,
            detail,
            lastSuccess,
            now,
            ttl,
            result.resolver,
            chain,
            result.name,
            result.family,
          ).changes;
      if (updated === 0)
        first.run(
          result.name,
          result.family,
          now,
          lastSuccess,
          result.outcome,
          detail,
          lastSuccess ? null : now,
          ttl,
          result.resolver,
          chain,
        );
    },
  };
}

const isNegative = (outcome: Outcome) => outcome === 'nxdomain' || outcome === 'nodata';

/**
 * Intervals of one outcome per name and family (failures, negative answers): a lookup ending as
 * the previous lookup of the same name and family did continues that interval; any other answer in
 * between starts a new one. Must be called before the lookup's own state is updated.
 */
function intervalLog(
  db: Db,
  table: 'failures' | 'negative_answers',
): (result: LookupResult, now: string, detail: string | null, previousAttempt: string | undefined) => void {
  const latest = stmt(
    db,
    `SELECT id, outcome, last_at FROM ${table} WHERE name = ? AND family = ? ORDER BY id DESC LIMIT 1`,
  );
  const extend = stmt(db, `UPDATE ${table} SET last_at = ?, count = count + 1, detail = ? WHERE id = ?`);
  const open = stmt(
    db,
    `INSERT INTO ${table} (name, family, outcome, detail, first_at, last_at, count) VALUES (?, ?, ?, ?, ?, ?, 1)`,
  );
  return (result, now, detail, previousAttempt) => {
    const last =
      previousAttempt === undefined
        ? undefined
        : (latest.get(result.name, result.family) as
            { id: number; outcome: string; last_at: string } | undefined);
    if (last && last.outcome === result.outcome && last.last_at === previousAttempt)
      extend.run(now, detail, last.id);
    else open.run(result.name, result.family, result.outcome, detail, now, now);
  };
}

/** Records the lookups of one pass, all at `at`. Must run inside the caller's transaction. */
export function recordLookups(db: Db, results: readonly LookupResult[], at: Date): void {
  const recorder = lookupRecorder(db);
  for (const result of results) recorder.record(result, at);
}

/**
 * A stored time (UTC ISO 8601 text) as milliseconds since the epoch, worked out by SQLite: for
 * tens of thousands of rows that is much cheaper than a JavaScript string and Date.parse each.
 */
const ms = (column: string) => `CAST(round(unixepoch(${column}, 'subsec') * 1000) AS INTEGER)`;

const SIGHTING = `name, family, address, ${ms('first_seen')} AS firstSeen, ${ms('last_seen')} AS lastSeen`;

/** Presence intervals of the given names that ended at or after `since`, merged per address. */
export function loadSightings(db: Db, names: readonly string[], since: Date): Sighting[] {
  const cutoff = since.toISOString();
  if (names.length <= BULK) {
    const query = stmt(
      db,
      `SELECT name, family, address, min(${ms('first_seen')}) AS firstSeen, max(${ms('last_seen')}) AS lastSeen
       FROM presence WHERE name = ? AND last_seen >= ? GROUP BY family, address`,
    );
    return names.flatMap((name) => query.all(name, cutoff) as Sighting[]);
  }
  // One scan, merged here: grouping in SQLite sorted the whole table first.
  const wanted = new Set(names);
  const rows = stmt(db, `SELECT ${SIGHTING} FROM presence WHERE last_seen >= ?`).all(cutoff) as Sighting[];
  return mergeIntervals(rows.filter((row) => wanted.has(row.name)));
}

/**
 * One sighting per name, family and address: the earliest start and the latest end of its
 * intervals, in the order each first appears. A few rows (one name's) are compared directly;
 * a key per row pays off only for many.
 */
function mergeIntervals(rows: readonly Sighting[]): Sighting[] {
  const merged: Sighting[] = [];
  const index = rows.length > 8 ? new Map<string, number>() : undefined;
  for (const row of rows) {
    const key = index ? `${row.name} ${row.family} ${row.address}` : '';
    const at = index
      ? (index.get(key) ?? -1)
      : merged.findIndex((m) => m.name === row.name && m.family === row.family && m.address === row.address);
    if (at < 0) {
      index?.set(key, merged.length);
      merged.push(row);
    } else {
      const prior = merged[at] as Sighting;
      merged[at] = {
        ...prior,
        firstSeen: Math.min(prior.firstSeen, row.firstSeen),
        lastSeen: Math.max(prior.lastSeen, row.lastSeen),
      };
    }
  }
  return merged;
}

/** Names read per turn of the event loop while a sync resolves. */
const READ_STEP = 64;

/**
 * The presence intervals of a sync's names, read while its other lookups are still on the wire:
 * once every lookup of a name in this pass is recorded, its rows cannot change before the desired
 * sets are computed (the run lock keeps other writers out). Reading them in the pauses between
 * answers spares the sync a read of the whole table after its last answer.
 */
export class PresenceReader {
  private readonly byName = new Map<string, Sighting[]>();
  private readonly cutoff: string;
  /** Lookups of each name not recorded yet in this pass. */
  private readonly pending = new Map<string, number>();
  private readonly queued: string[] = [];
  private draining = false;
  private failed: unknown;

  /**
   * `since`: the earliest end of an interval any of the sync's lists can need; `questions`: the
   * pass's lookups.
   */
  constructor(
    private readonly db: Db,
    private readonly since: Date,
    questions: readonly { name: string }[],
  ) {
    this.cutoff = since.toISOString();
    for (const { name } of questions) this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
  }

  /**
   * Takes note of committed lookups. The intervals of each name whose lookups are now all
   * recorded are read a few names per turn of the event loop: answers waiting on the sockets are
   * taken in between, so the resolvers are never left without questions for long.
   */
  recorded(results: readonly { name: string }[]): void {
    for (const { name } of results) {
      const left = (this.pending.get(name) ?? 0) - 1;
      this.pending.set(name, left);
      if (left === 0) this.queued.push(name);
    }
    if (this.draining || this.queued.length === 0) return;
    this.draining = true;
    const step = () => {
      try {
        this.read(this.queued.splice(0, READ_STEP));
      } catch (err) {
        // Thrown by readRemaining, in the sync's own flow, rather than from a timer.
        this.failed ??= err;
        this.queued.length = 0;
      }
      if (this.queued.length > 0) setImmediate(step);
      else this.draining = false;
    };
    setImmediate(step);
  }

  /** Reads what is still queued, at once; throws what a read in the background met. */
  readRemaining(): void {
    if (this.failed !== undefined) throw this.failed;
    this.read(this.queued.splice(0));
  }

  private read(names: readonly string[]): void {
    if (names.length === 0) return;
    const rows = stmt(
      this.db,
      `SELECT ${SIGHTING} FROM presence WHERE name IN (SELECT value FROM json_each(?)) AND last_seen >= ?`,
    ).all(JSON.stringify(names), this.cutoff) as Sighting[];
    for (const name of names) this.byName.set(name, []);
    for (const row of rows) this.byName.get(row.name)?.push(row);
  }

  /** What loadSightings would return, or undefined when a name was not read or `since` is too early. */
  sightings(names: readonly string[], since: Date): Sighting[] | undefined {
    if (since < this.since) return undefined;
    const from = since.getTime();
    const merged: Sighting[] = [];
    for (const name of names) {
      const known = this.byName.get(name);
      if (!known) return undefined;
      // Merged name by name, in the order of the names: what one merge of all rows gives.
      merged.push(...mergeIntervals(known.filter((row) => row.lastSeen >= from)));
    }
    return merged;
  }
}

/**
 * The state of the given names' failing lookups: the planner needs a name's status only while it
 * fails (to keep its last good answer up to stale_limit), and few names fail at a time.
 */
export function loadFailing(db: Db, names: readonly string[]): NameStatus[] {
  const wanted = new Set(names);
  const rows = stmt(
    db,
    `SELECT name, family, ${ms('last_success')} AS lastSuccess, outcome, detail
     FROM lookups WHERE failing_since IS NOT NULL`,
  ).all() as {
    name: string;
    family: Family;
    lastSuccess: number | null;
    outcome: string;
    detail: string | null;
  }[];
  return rows
    .filter((r) => wanted.has(r.name))
    .map((r) => ({
      name: r.name,
      family: r.family,
      lastSuccess: r.lastSuccess ?? undefined,
      failing: true,
      outcome: r.outcome,
      ...(r.detail ? { detail: r.detail } : {}),
    }));
}

export function allLookups(db: Db): LookupRow[] {
  return stmt(db, 'SELECT * FROM lookups ORDER BY name, family').all() as LookupRow[];
}
