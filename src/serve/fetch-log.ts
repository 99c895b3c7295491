import { statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { openDatabase, relaxDurability, type Db } from '../store/db.js';
import { recordFetches, type FetchRecord } from '../store/feeds.js';

/**
 * Records written per transaction: about 10 µs each with the table's two indexes, so one batch
 * holds the write lock, and the event loop, for 2–3 ms.
 */
const CHUNK = 250;
/** Records kept while the database cannot take them; beyond, the oldest go (and that is said). */
const MAX_WAITING = 100_000;

/** A fetch without its time: what many fetches of one poller have in common. */
export type Fetch = Omit<FetchRecord, 'at'>;

/**
 * Every answered feed request, written to the database in short batches (every second, CHUNK
 * rows per transaction) on a connection of its own that waits at most 50 ms for a lock:
 * a sync committing its answers is never held up, and a poll never waits for the database. A
 * record that cannot be written yet waits for the next batch; a fetch never fails because of it.
 *
 * Waiting fetches are kept grouped by everything but their time, the times as plain numbers: a
 * poll adds a number, not an object that would live for a second and be promoted to the old
 * generation, and memory stays flat under thousands of polls a second (docs/benchmarks.md).
 */
export class FetchLog {
  private groups = new Map<string, { fetch: Fetch; times: number[] }>();
  private count = 0;
  private conn: { db: Db; dev: number; ino: number } | undefined;
  private fault: string | undefined;
  private dropped = 0;
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  /** A fetch answered at `at` (ms since the epoch). */
  add(fetch: Fetch, at: number): void {
    if (this.count >= MAX_WAITING) {
      if (this.dropped++ === 0)
        this.log.warn(
          `serve: ${this.path}: ${MAX_WAITING} fetch records wait to be written; new ones are dropped until it takes them again`,
        );
      return;
    }
    const key = `${fetch.target}\u0000${fetch.file}\u0000${fetch.client}\u0000${fetch.user ?? ''}\u0000${fetch.etag ?? ''}\u0000${fetch.status}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { fetch, times: [] }));
    group.times.push(at);
    this.count += 1;
  }

  get waiting(): number {
    return this.count;
  }

  /** Up to `n` waiting fetches as records, taken out of the queue. */
  private take(n: number): FetchRecord[] {
    const records: FetchRecord[] = [];
    for (const [key, group] of this.groups) {
      const times = group.times.splice(0, n - records.length);
      for (const t of times) records.push({ ...group.fetch, at: new Date(t).toISOString() });
      if (group.times.length === 0) this.groups.delete(key);
      if (records.length === n) break;
    }
    this.count -= records.length;
    return records;
  }

  /** Writes one chunk, and schedules the next one while records remain. */
  flush(): void {
    if (this.count === 0) return;
    const chunk = this.take(CHUNK);
    try {
      recordFetches(this.connection().db, chunk);
      this.recovered();
    } catch (err) {
      // Back into the queue, for the next batch.
      for (const { at, ...fetch } of chunk) this.add(fetch, Date.parse(at));
      this.failed(err);
      return;
    }
    if (this.count > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes what waits, as far as the database takes it, and lets go of the connection. */
  close(): void {
    clearInterval(this.timer);
    for (let before = -1; this.count > 0 && this.count !== before;) {
      before = this.count;
      this.flush();
    }
    this.conn?.db.close();
    this.conn = undefined;
  }

  private connection(): NonNullable<FetchLog['conn']> {
    const st = statSync(this.path);
    if (this.conn && this.conn.dev === st.dev && this.conn.ino === st.ino) return this.conn;
    this.conn?.db.close();
    this.conn = undefined;
    const db = openDatabase(this.path, { mustExist: true, busyTimeoutMs: 50 });
    // No fsync per batch (the database is in WAL mode): a crash of serve loses none of them, a power
    // loss the last few; with FULL, each batch stalled the polls for 10–40 ms (docs/benchmarks.md).
    relaxDurability(db);
    this.conn = { db, dev: st.dev, ino: st.ino };
    return this.conn;
  }

  private failed(err: unknown): void {
    const e = err as { code?: string; message?: string };
    // A sync holding the write lock right now: the records wait for the next batch, unsaid.
    if (e.code === 'SQLITE_BUSY') return;
    this.conn?.db.close();
    this.conn = undefined;
    const message = e.message ?? String(err);
    if (this.fault === message) return;
    this.fault = message;
    this.log.warn(
      `serve: ${this.path}: fetch records cannot be written (${message}); ${this.count} wait for the next try`,
    );
  }

  private recovered(): void {
    if (this.fault) this.log.info(`serve: ${this.path}: fetch records are written again`);
    this.fault = undefined;
    if (this.dropped > 0)
      this.log.warn(`serve: ${this.dropped} fetch record(s) were dropped while they could not be written`);
    this.dropped = 0;
  }
}
