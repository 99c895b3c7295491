import { feedFiles } from '../model/feed.js';
import { allFeedContent } from '../store/feeds.js';
import type { DatabaseReader } from './reader.js';

/** One file of a published feed list, ready to send. */
export interface PublishedFile {
  body: Buffer;
  etag: string;
  /** The push that made the content; `Last-Modified`, to the second as HTTP dates are. */
  lastModified: Date;
  addresses: number;
  /** The headers of a 200 and of a 304, complete, made once: a poll allocates none. */
  okHeaders: Readonly<Record<string, string>>;
  notModifiedHeaders: Readonly<Record<string, string>>;
}

/** How often a request may make serve ask the database whether a push changed anything. */
const RECHECK_MS = 250;

/**
 * What the feed lists publish, kept in memory and sent from there: a poll costs no query. At most
 * every RECHECK_MS a request asks the database whether anything was committed, and only then are
 * the lists read again. What cannot be read is answered with the last content read, and so is a
 * list that vanished from the database: dnsfence never deletes one, so a database without it is
 * an older copy put back, not a list emptied on purpose.
 */
export class Published {
  private files = new Map<string, PublishedFile>();
  private content = new Map<string, { addresses: string; published_at: string }>();
  private checked = -Infinity;

  constructor(
    private readonly reader: DatabaseReader,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A file by target and file name (`web.v4.txt`), as last read. */
  get(target: string, file: string): PublishedFile | undefined {
    this.refresh();
    return this.files.get(`${target}/${file}`);
  }

  /** Every file as last read, by `target/file`. */
  all(): ReadonlyMap<string, PublishedFile> {
    this.refresh();
    return this.files;
  }

  refresh(): void {
    const now = this.now();
    if (now - this.checked < RECHECK_MS) return;
    this.checked = now;
    this.reader.read((db, changed) => {
      if (changed) this.update(allFeedContent(db));
    });
  }

  private update(rows: { target: string; list: string; addresses: string; published_at: string }[]): void {
    const files = new Map(this.files);
    for (const row of rows) {
      const key = `${row.target}/${row.list}`;
      const known = this.content.get(key);
      if (known && known.addresses === row.addresses && known.published_at === row.published_at) continue;
      this.content.set(key, row);
      const lastModified = new Date(Math.floor(Date.parse(row.published_at) / 1000) * 1000);
      for (const f of feedFiles(row.list, row.addresses)) {
        const body = Buffer.from(f.body);
        const validators = {
          'X-Content-Type-Options': 'nosniff',
          ETag: f.etag,
          'Last-Modified': lastModified.toUTCString(),
          // Every poll asks again; the ETag makes an unchanged list cost a 304.
          'Cache-Control': 'no-cache',
        };
        files.set(`${row.target}/${f.file}`, {
          body,
          etag: f.etag,
          lastModified,
          addresses: f.addresses,
          okHeaders: Object.freeze({
            ...validators,
            'Content-Type': 'text/plain; charset=utf-8',
            'Content-Length': String(body.length),
          }),
          notModifiedHeaders: Object.freeze(validators),
        });
      }
    }
    this.files = files;
  }
}
