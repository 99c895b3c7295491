import { matchesWildcard } from '../config/names.js';
import type { ListConfig } from '../config/types.js';
import { stmt, type Db } from './db.js';

/** A name a list learned from a forwarded answer. Times are UTC ISO 8601 text. */
export interface LearnedName {
  list: string;
  name: string;
  /** The list entry that matched: `*.zone`, or a configured name in the answer's CNAME chain. */
  entry: string;
  first_learned: string;
  /** The client whose query taught it. */
  client: string;
  last_queried: string;
  last_client: string;
}

/** A query for a learned name (or one being learned) at `at`. */
export interface Asked {
  list: string;
  name: string;
  entry: string;
  client: string;
  at: string;
}

export function loadLearned(db: Db, list?: string): LearnedName[] {
  return (
    list === undefined
      ? stmt(db, 'SELECT * FROM learned ORDER BY list, name').all()
      : stmt(db, 'SELECT * FROM learned WHERE list = ? ORDER BY name').all(list)
  ) as LearnedName[];
}

/** The lists that learned a name, first learned first. */
export function learnedAs(db: Db, name: string): LearnedName[] {
  return stmt(db, 'SELECT * FROM learned WHERE name = ? ORDER BY first_learned, list').all(
    name,
  ) as LearnedName[];
}

/**
 * Records queries: a name not learned yet is learned now, from its client; one already learned
 * was asked again. Must run inside the caller's transaction.
 */
export function recordAsked(db: Db, asked: readonly Asked[]): void {
  const upsert = stmt(
    db,
    `INSERT INTO learned (list, name, entry, first_learned, client, last_queried, last_client)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (list, name) DO UPDATE SET last_queried = max(last_queried, excluded.last_queried),
       last_client = excluded.last_client, entry = excluded.entry`,
  );
  for (const a of asked) upsert.run(a.list, a.name, a.entry, a.at, a.client, a.at, a.client);
}

/** Whether an entry of the list still matches a name it learned (a removed wildcard takes its names). */
export function stillMatched(list: ListConfig, row: Pick<LearnedName, 'name' | 'entry'>): boolean {
  return (list.wildcards ?? []).some((w) => matchesWildcard(row.name, w)) || list.names.includes(row.entry);
}

/**
 * The lists with the names they learned, as a pass at `now` uses them: `learned` (within the
 * list's retention of their last query: resolved like configured names) and `forgotten` (older:
 * no longer resolved, their addresses age out through retention). A name counts only while an
 * entry of the list still matches it: a wildcard that was removed takes its names with it.
 */
export function withLearned(
  db: Db,
  lists: readonly ListConfig[],
  now: Date,
  rows: readonly Pick<LearnedName, 'list' | 'name' | 'entry' | 'last_queried'>[] = stmt(
    db,
    'SELECT list, name, entry, last_queried FROM learned',
  ).all() as LearnedName[],
): ListConfig[] {
  if (rows.length === 0) return [...lists];
  const byList = new Map<string, (typeof rows)[number][]>();
  for (const r of rows) {
    let own = byList.get(r.list);
    if (!own) byList.set(r.list, (own = []));
    own.push(r);
  }
  return lists.map((list) => {
    const own = byList.get(list.name);
    if (!own) return list;
    const configured = new Set(list.names);
    const since = new Date(now.getTime() - list.retentionMs).toISOString();
    const learned: string[] = [];
    const forgotten: string[] = [];
    for (const r of own) {
      if (configured.has(r.name) || !stillMatched(list, r)) continue;
      (r.last_queried >= since ? learned : forgotten).push(r.name);
    }
    return learned.length + forgotten.length === 0 ? list : { ...list, learned, forgotten };
  });
}
