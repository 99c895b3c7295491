import { stmt, type Db } from './db.js';

/** What one feed list publishes: the body of `<list>.txt` and when the push that made it stored it. */
export interface FeedContent {
  target: string;
  /** The list's name on the target: the name in the URL. */
  list: string;
  addresses: string;
  published_at: string;
}

/** What the feed lists of one target publish, by their names on the target. */
export function loadFeedContent(db: Db, target: string, lists: readonly string[]): Map<string, FeedContent> {
  const rows = stmt(
    db,
    'SELECT * FROM feed_content WHERE target = ? AND list IN (SELECT value FROM json_each(?))',
  ).all(target, JSON.stringify(lists)) as FeedContent[];
  return new Map(rows.map((r) => [r.list, r]));
}

export function allFeedContent(db: Db): FeedContent[] {
  return stmt(db, 'SELECT * FROM feed_content ORDER BY target, list').all() as FeedContent[];
}

/** Replaces what the lists publish, in the caller's transaction. */
export function publishFeeds(
  db: Db,
  target: string,
  lists: readonly { list: string; addresses: string }[],
  at: Date,
): void {
  const put = stmt(
    db,
    `INSERT INTO feed_content (target, list, addresses, published_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (target, list) DO UPDATE SET addresses = excluded.addresses, published_at = excluded.published_at`,
  );
  for (const l of lists) put.run(target, l.list, l.addresses, at.toISOString());
}

/** One request for a feed file, as `serve` answered it. */
export interface FetchRecord {
  at: string;
  client: string;
  user: string | null;
  target: string;
  list: string | null;
  file: string;
  etag: string | null;
  status: number;
}

/** Appends fetch records in one short transaction. */
export function recordFetches(db: Db, fetches: readonly FetchRecord[]): void {
  const insert = stmt(
    db,
    'INSERT INTO feed_fetches (at, client, user, target, list, file, etag, status) VALUES (@at, @client, @user, @target, @list, @file, @etag, @status)',
  );
  db.transaction(() => {
    for (const f of fetches) insert.run(f);
  })();
}

/** One consumer of one feed file (a client address and the user it authenticated as) over a period. */
export interface ConsumerRow {
  target: string;
  list: string | null;
  file: string;
  client: string;
  user: string | null;
  fetches: number;
  first_at: string;
  last_at: string;
  last_status: number;
  /** Its last fetch that got the list (200) or was told it holds it (304), up to the period's end. */
  held_at: string | null;
  held_etag: string | null;
}

/**
 * Every client that asked for a feed file in the period, with how often, its first and last
 * request and the answer to the last, and the version (ETag) its last successful fetch left it
 * with, however long ago that was.
 */
export function feedConsumersIn(db: Db, since: string, until: string): ConsumerRow[] {
  // SQLite takes a bare column of a max() aggregate from the row holding the maximum.
  const seen = stmt(
    db,
    `SELECT target, list, file, client, user, count(*) AS fetches, min(at) AS first_at, max(at) AS last_at,
            status AS last_status
     FROM feed_fetches WHERE at >= ? AND at <= ?
     GROUP BY target, file, client, user ORDER BY target, file, client, user`,
  ).all(since, until) as Omit<ConsumerRow, 'held_at' | 'held_etag'>[];
  const held = stmt(
    db,
    `SELECT max(at) AS at, etag FROM feed_fetches
     WHERE target = ? AND file = ? AND client = ? AND user IS ? AND at <= ? AND status IN (200, 304)`,
  );
  return seen.map((r) => {
    const h = held.get(r.target, r.file, r.client, r.user, until) as {
      at: string | null;
      etag: string | null;
    };
    return { ...r, held_at: h.at, held_etag: h.at ? h.etag : null };
  });
}
