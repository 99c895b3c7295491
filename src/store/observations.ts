import type { Family } from '../address.js';
import type { NameStatus, Sighting } from '../model/observation.js';
import { isSuccess, type Answer, type LookupResult, type Outcome } from '../resolver/types.js';
import { stmt, type Db } from './db.js';

/** Above this many names, one read of a whole table beats one indexed query per name. */
const BULK = 256;

export interface LookupRecorder {
  /** Records one finished lookup at `at`. Must run inside the caller's transaction. */
  record(result: LookupResult, at: Date): void;
}

/**
 * A successful answer as the lookup keeps it: its addresses sorted and space-separated (what an
 * unchanged answer is recognised by) and their TTLs as a JSON object keyed by address.
 */
interface KeptAnswer {
  addresses: string;
  ttls: string | null;
}

const NO_ADDRESSES: KeptAnswer = { addresses: '', ttls: null };

function keptAnswer(answers: readonly Answer[]): KeptAnswer {
  if (answers.length === 0) return NO_ADDRESSES;
  if (answers.length === 1) {
    const only = answers[0] as Answer;
    return { addresses: only.address, ttls: `{"${only.address}":${only.ttl}}` };
  }
  // Resolvers rotate the order of an answer's addresses: sorted, a rotation is no change. A repeated
  // address keeps the TTL it was first given with.
  const byAddress = new Map<string, number>();
  for (const a of answers) if (!byAddress.has(a.address)) byAddress.set(a.address, a.ttl);
  const sorted = [...byAddress.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    addresses: sorted.join(' '),
    ttls: `{${sorted.map((a) => `"${a}":${byAddress.get(a) as number}`).join(',')}}`,
  };
}

/**
 * Records the lookups of one pass as they finish. An address of a name's latest successful answer
 * has an open presence interval, which ends at the lookup's last success; the answer itself (its
 * addresses, TTLs, resolver and chain) is kept with the lookup. So an answer with the same addresses
 * as the one before costs one write, the lookup's, whatever its TTLs. An address that leaves the
 * answer has its interval closed as it was last seen; one that (re)appears opens a new interval.
 * Failures leave the intervals alone; intervals of failures and of negative answers (NXDOMAIN,
 * NODATA) are kept too. Each (name, family) is recorded once per pass.
 */
export function lookupRecorder(db: Db): LookupRecorder {
  // Positional parameters: binding named ones costs an object per lookup.
  const unchanged = stmt(
    db,
    `UPDATE lookups SET last_attempt = ?, last_success = ?, outcome = 'answer', detail = ?, failing_since = NULL,
       ttl = coalesce(?, ttl), resolver = ?, chain = coalesce(?, chain),
       answer_ttls = ?, answer_resolver = ?, answer_chain = ?
     WHERE name = ? AND family = ? AND answer = ?`,
  );
  const previous = stmt(
    db,
    `SELECT last_attempt, last_success, answer_ttls, answer_resolver, answer_chain
     FROM lookups WHERE name = ? AND family = ?`,
  );
  const openIntervals = stmt(
    db,
    'SELECT id, address FROM presence WHERE name = ? AND family = ? AND last_seen IS NULL',
  );
  const close = stmt(db, 'UPDATE presence SET last_seen = ?, ttl = ?, resolver = ?, chain = ? WHERE id = ?');
  const open = stmt(db, 'INSERT INTO presence (name, family, address, first_seen) VALUES (?, ?, ?, ?)');
  const failures = intervalLog(db, 'failures');
  // Rare (a misspelt or vanished name), so the extra statements cost a sync of live names nothing.
  const negatives = intervalLog(db, 'negative_answers');
  // A success clears failing_since; a failure keeps the last success and the answer, and starts
  // failing_since unless it runs already.
  const succeeded = stmt(
    db,
    `UPDATE lookups SET last_attempt = ?, last_success = ?, outcome = ?, detail = ?, failing_since = NULL,
       ttl = coalesce(?, ttl), resolver = ?, chain = coalesce(?, chain),
       answer = ?, answer_ttls = ?, answer_resolver = ?, answer_chain = ?
     WHERE name = ? AND family = ?`,
  );
  const failed = stmt(
    db,
    `UPDATE lookups SET last_attempt = ?, outcome = ?, detail = ?, failing_since = coalesce(failing_since, ?),
       ttl = coalesce(?, ttl), resolver = ?, chain = coalesce(?, chain)
     WHERE name = ? AND family = ?`,
  );
  const first = stmt(
    db,
    `INSERT INTO lookups (name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain,
       answer, answer_ttls, answer_resolver, answer_chain)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let lastAt: Date | undefined;
  let now = '';
  // A store that has never recorded a lookup (a first sync) has no interval to close and no lookup
  // to update: only the INSERTs run. The keys recorded meanwhile are kept so that a second lookup
  // of the same name in one pass still finds the first.
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
      const { name, family, resolver } = result;
      const chain = result.chain.length > 1 ? result.chain.join(' > ') : null;
      const detail = result.detail ?? null;
      const ttl = result.ttl ?? null;
      const success = isSuccess(result.outcome);
      const answer = success ? keptAnswer(result.addresses) : undefined;
      const unknown = isNew(result);
      if (
        answer &&
        !unknown &&
        result.outcome === 'answer' &&
        unchanged.run(
          now,
          now,
          detail,
          ttl,
          resolver,
          chain,
          answer.ttls,
          resolver,
          chain,
          name,
          family,
          answer.addresses,
        ).changes > 0
      )
        return;

      const prev = unknown
        ? undefined
        : (previous.get(name, family) as
            | {
                last_attempt: string;
                last_success: string | null;
                answer_ttls: string | null;
                answer_resolver: string | null;
                answer_chain: string | null;
              }
            | undefined);
      if (answer) {
        const wanted = new Set(result.addresses.map((a) => a.address));
        const still = new Set<string>();
        if (prev) {
          const ttls = prev.answer_ttls ? (JSON.parse(prev.answer_ttls) as Record<string, number>) : {};
          for (const row of openIntervals.all(name, family) as { id: number; address: string }[]) {
            if (wanted.has(row.address)) still.add(row.address);
            // Closed as it was last seen: at the previous success, with that answer's TTL, resolver and chain.
            else
              close.run(
                prev.last_success,
                ttls[row.address] ?? null,
                prev.answer_resolver,
                prev.answer_chain,
                row.id,
              );
          }
        }
        for (const address of wanted) if (!still.has(address)) open.run(name, family, address, now);
      }
      const log = success ? (isNegative(result.outcome) ? negatives : undefined) : failures;
      if (log) log(result, now, detail, prev?.last_attempt);
      if (!prev)
        first.run(
          name,
          family,
          now,
          success ? now : null,
          result.outcome,
          detail,
          success ? null : now,
          ttl,
          resolver,
          chain,
          answer?.addresses ?? null,
          answer?.ttls ?? null,
          answer ? resolver : null,
          answer ? chain : null,
        );
      else if (answer)
        succeeded.run(
          now,
          now,
          result.outcome,
          detail,
          ttl,
          resolver,
          chain,
          answer.addresses,
          answer.ttls,
          resolver,
          chain,
          name,
          family,
        );
      else failed.run(now, result.outcome, detail, now, ttl, resolver, chain, name, family);
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

/** Open intervals end at their lookup's last success. */
const OPEN_SINCE = `SELECT p.name, p.family, p.address, p.first_seen, l.last_success
  FROM presence p JOIN lookups l ON l.name = p.name AND l.family = p.family
  WHERE p.last_seen IS NULL AND l.last_success >= ?`;
/** Closed intervals that ended at or after a time: the DNS changes since then, found by their index. */
const CLOSED_SINCE = 'SELECT name, family, address, first_seen, last_seen FROM presence WHERE last_seen >= ?';

type IntervalRow = [name: string, family: Family, address: string, firstSeen: string, lastSeen: string];

/**
 * Stored times (UTC ISO 8601 text) as milliseconds since the epoch. The intervals of a pass share
 * a few times (every open one ends at the pass's start), so each is parsed once.
 */
function timeParser(): (text: string) => number {
  const known = new Map<string, number>();
  return (text) => {
    let ms = known.get(text);
    if (ms === undefined) known.set(text, (ms = Date.parse(text)));
    return ms;
  };
}

/**
 * The presence intervals of some names that end at or after a time, read once: the desired sets
 * of all lists of a pass (or of `status`) take theirs from it, each from its own horizon on.
 */
export class Presence {
  private constructor(
    private readonly since: number,
    private readonly byName: Map<string, Sighting[]>,
  ) {}

  static read(db: Db, names: Iterable<string>, since: Date): Presence {
    const cutoff = since.toISOString();
    const byName = new Map<string, Sighting[]>();
    for (const name of names) byName.set(name, []);
    const ms = timeParser();
    const add = ([name, family, address, first, last]: IntervalRow) =>
      byName.get(name)?.push({ name, family, address, firstSeen: ms(first), lastSeen: ms(last) });
    // Rows as arrays: objects with their keys cost twice as much for 20,000 rows.
    if (byName.size <= BULK) {
      const query = stmt(
        db,
        'SELECT name, family, address, first_seen, last_seen FROM presence_intervals WHERE name = ? AND last_seen >= ?',
      ).raw(true);
      for (const name of byName.keys()) for (const row of query.all(name, cutoff) as IntervalRow[]) add(row);
    } else {
      // Two scans rather than a query per name: the open intervals (one per address a name answers
      // with now) and the few closed ones within the horizon. Row by row: an array of all 20,000
      // rows at once raised a 10,000-name sync's peak RSS by about 15 MB.
      for (const sql of [OPEN_SINCE, CLOSED_SINCE])
        for (const row of stmt(db, sql).raw(true).iterate(cutoff) as IterableIterator<IntervalRow>) add(row);
    }
    return new Presence(since.getTime(), byName);
  }

  /**
   * One sighting per name, family and address (the earliest start and the latest end of its
   * intervals that end at or after `since`), name by name in the order given; undefined when a
   * name was not read or `since` is before what was read.
   */
  sightings(names: readonly string[], since: Date): Sighting[] | undefined {
    const from = since.getTime();
    if (from < this.since) return undefined;
    const merged: Sighting[] = [];
    for (const name of names) {
      const rows = this.byName.get(name);
      if (!rows) return undefined;
      if (rows.length === 0) continue;
      merged.push(...mergeIntervals(rows.filter((row) => row.lastSeen >= from)));
    }
    return merged;
  }
}

/** Presence intervals of the given names that ended at or after `since`, merged per address. */
export function loadSightings(db: Db, names: readonly string[], since: Date): Sighting[] {
  return Presence.read(db, names, since).sightings(names, since) as Sighting[];
}

/**
 * One sighting per family and address of one name's intervals: the earliest start and the latest
 * end, in the order each first appears. Mostly one interval per address; a key per row pays off
 * only for many (a rotating pool's name).
 */
function mergeIntervals(rows: readonly Sighting[]): Sighting[] {
  if (rows.length <= 1) return [...rows];
  const merged: Sighting[] = [];
  const index = rows.length > 8 ? new Map<string, number>() : undefined;
  for (const row of rows) {
    const key = index ? `${row.family} ${row.address}` : '';
    const at = index
      ? (index.get(key) ?? -1)
      : merged.findIndex((m) => m.family === row.family && m.address === row.address);
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

/**
 * The state of the given names' failing lookups: the planner needs a name's status only while it
 * fails (to keep its last good answer up to stale_limit), and few names fail at a time.
 */
export function loadFailing(db: Db, names: readonly string[]): NameStatus[] {
  const wanted = new Set(names);
  const rows = stmt(
    db,
    'SELECT name, family, last_success, outcome, detail FROM lookups WHERE failing_since IS NOT NULL',
  ).all() as {
    name: string;
    family: Family;
    last_success: string | null;
    outcome: string;
    detail: string | null;
  }[];
  return rows
    .filter((r) => wanted.has(r.name))
    .map((r) => ({
      name: r.name,
      family: r.family,
      lastSuccess: r.last_success === null ? undefined : Date.parse(r.last_success),
      failing: true,
      outcome: r.outcome,
      ...(r.detail ? { detail: r.detail } : {}),
    }));
}

/** What `status` shows of a lookup. */
export interface LookupState {
  outcome: string;
  last_success: string | null;
  failing_since: string | null;
  detail: string | null;
}

type LookupStateRow = [
  name: string,
  family: Family,
  ...state: [string, string | null, string | null, string | null],
];

/** The latest lookup of each name, by name and family: only the columns `status` shows. */
export function lookupStates(db: Db): Map<string, Partial<Record<Family, LookupState>>> {
  const byName = new Map<string, Partial<Record<Family, LookupState>>>();
  // Arrays, not objects with every column: 20,000 rows for 10,000 names.
  const rows = stmt(db, 'SELECT name, family, outcome, last_success, failing_since, detail FROM lookups')
    .raw(true)
    .all() as LookupStateRow[];
  for (const [name, family, outcome, last_success, failing_since, detail] of rows) {
    let states = byName.get(name);
    if (!states) byName.set(name, (states = {}));
    states[family] = { outcome, last_success, failing_since, detail };
  }
  return byName;
}
