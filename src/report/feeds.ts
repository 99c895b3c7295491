import { feedFiles } from '../model/feed.js';
import type { Db } from '../store/db.js';
import { allFeedContent, feedConsumersIn } from '../store/feeds.js';

/** How many of its usual intervals a consumer may stay away before it counts as stopped. */
export const STOPPED_AFTER_INTERVALS = 3;
/** A usual interval needs this many fetches (two gaps) to be known. */
const FETCHES_FOR_INTERVAL = 3;

/**
 * One client polling one feed file, over a period: who (address, and the user it authenticated
 * as), how often, what it was told last, and which version it holds. `holds` is the ETag of its
 * last fetch that got the list (200) or was told it has it (304); `current` whether that is what
 * the file holds now. A consumer `stopped` when its last fetch is longer ago than three of its
 * usual intervals (the average gap between its fetches in the period, known from its third fetch).
 */
export interface FeedConsumer {
  target: string;
  list: string | null;
  file: string;
  client: string;
  user: string | null;
  fetches: number;
  first: string;
  last: string;
  lastStatus: number;
  holds: string | null;
  heldSince: string | null;
  current: boolean | null;
  intervalMs: number | null;
  stopped: boolean;
  /**
   * Its last request was refused (401, 403): a Palo Alto firewall whose fetch fails authentication
   * stops enforcing the list, so this is said as loudly as a stop.
   */
  refused: boolean;
}

/** Every consumer of a feed in the period; `until` is when a stop is judged. */
export function feedConsumers(
  db: Db,
  since: string,
  until: string,
  inScope: (target: string, list: string | null) => boolean = () => true,
): FeedConsumer[] {
  const current = new Map<string, string>();
  for (const row of allFeedContent(db))
    for (const f of feedFiles(row.list, row.addresses)) current.set(`${row.target}/${f.file}`, f.etag);
  return feedConsumersIn(db, since, until)
    .filter((r) => inScope(r.target, r.list))
    .map((r): FeedConsumer => {
      const span = Date.parse(r.last_at) - Date.parse(r.first_at);
      const intervalMs = r.fetches >= FETCHES_FOR_INTERVAL ? span / (r.fetches - 1) : null;
      const now = current.get(`${r.target}/${r.file}`);
      return {
        target: r.target,
        list: r.list,
        file: r.file,
        client: r.client,
        user: r.user,
        fetches: r.fetches,
        first: r.first_at,
        last: r.last_at,
        lastStatus: r.last_status,
        holds: r.held_etag,
        heldSince: r.held_at,
        current: r.held_etag === null || now === undefined ? null : r.held_etag === now,
        intervalMs,
        stopped:
          intervalMs !== null &&
          Date.parse(until) - Date.parse(r.last_at) > STOPPED_AFTER_INTERVALS * intervalMs,
        refused: r.last_status === 401 || r.last_status === 403,
      };
    });
}

/** `192.0.2.10 (user fw1)`: a consumer as people read it. */
export const consumerName = (c: Pick<FeedConsumer, 'client' | 'user'>) =>
  c.user ? `${c.client} (user ${c.user})` : c.client;

/** What a consumer holds, in words: `"9f…" (current)`, `"3a…" (older)`, `nothing yet`. */
export function heldVersion(c: FeedConsumer): string {
  if (c.holds === null) return 'nothing yet';
  return `${c.holds}${c.current === true ? ' (current)' : c.current === false ? ' (an older version)' : ''}`;
}

/** `polls every 5m`, `STOPPED (polls every 5m; nothing since …)`, `REFUSED (401): polls every 5m`. */
export function pollingState(c: FeedConsumer, format: (ms: number) => string): string {
  const every =
    c.intervalMs === null ? 'too few fetches to know its interval' : `polls every ${format(c.intervalMs)}`;
  const state = c.stopped ? `STOPPED (${every}; nothing since ${c.last})` : every;
  return c.refused ? `REFUSED (${c.lastStatus}): ${state}` : state;
}
