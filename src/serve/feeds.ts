import type { IncomingMessage } from 'node:http';
import type { Answer } from './answers.js';
import type { Published } from './published.js';

/** A feed file `serve` answers: its URL path, and the target and list it publishes. */
export interface FeedRoute {
  path: string;
  target: string;
  /** The configured list; null for a path that names none. */
  list: string | null;
  /** `<list>.txt`, `<list>.v4.txt`, `<list>.v6.txt`. */
  file: string;
  unknown?: true;
}

/**
 * RFC 9110: If-None-Match decides when present (any of its tags, weak or strong, or `*`);
 * otherwise If-Modified-Since, to the second.
 */
function notModified(req: IncomingMessage, etag: string, lastModified: Date): boolean {
  const match = req.headers['if-none-match'];
  if (match !== undefined)
    return match.split(',').some((tag) => {
      const t = tag.trim().replace(/^W\//, '');
      return t === '*' || t === etag;
    });
  const since = req.headers['if-modified-since'];
  if (since === undefined) return false;
  const t = Date.parse(since);
  return !Number.isNaN(t) && lastModified.getTime() <= t;
}

/**
 * One feed file, as the pollers want it: `text/plain`, an ETag of the exact body and the time of
 * the push that made it, 304 when the client holds it already. A configured list that was never
 * published is 503 with Retry-After (a poller keeps what it has), never an empty list: only a
 * list that is empty on purpose is an empty 200.
 */
export function feedAnswer(req: IncomingMessage, route: FeedRoute, published: Published): Answer {
  if (route.unknown) return { status: 404, body: 'not found\n' };
  const file = published.get(route.target, route.file);
  if (!file)
    return {
      status: 503,
      headers: { 'Retry-After': '60', 'Content-Type': 'text/plain; charset=utf-8' },
      body: `${route.path} is not published yet: the next sync publishes it\n`,
    };
  if (notModified(req, file.etag, file.lastModified))
    return { status: 304, headers: file.notModifiedHeaders, complete: true, etag: file.etag };
  return { status: 200, headers: file.okHeaders, complete: true, body: file.body, etag: file.etag };
}
