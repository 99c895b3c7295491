import { statSync } from 'node:fs';
import type { Logger } from '../log.js';
import { dataVersion, openDatabase, readTransaction, type Db } from '../store/db.js';
import { loadMigrations, schemaVersion } from '../store/migrate.js';

/** What went wrong reading the database, in one line, and since when. */
export interface Fault {
  message: string;
  since: Date;
}

/**
 * The database as `serve` reads it: a read-only connection, short read transactions, never the
 * run lock. It follows the file: a database replaced (a restore, a move) is opened again. Whatever
 * fails (the file gone, unreadable, locked, corrupt, of another schema) is a fault, logged once
 * when it starts and once when it ends, never thrown: the callers keep serving what they read last.
 */
export class DatabaseReader {
  private conn: { db: Db; dev: number; ino: number; version: number | undefined } | undefined;
  private current: Fault | undefined;
  private readonly schema: number;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly clock: () => Date,
  ) {
    this.schema = loadMigrations().at(-1)?.version ?? 0;
  }

  get fault(): Fault | undefined {
    return this.current;
  }

  /**
   * Runs `work` in one read transaction. `changed` tells it whether anything was committed since
   * the last call (always true on a connection just opened). Undefined when the database could not
   * be read.
   */
  read<T>(work: (db: Db, changed: boolean) => T): T | undefined {
    try {
      const conn = this.connection();
      const version = dataVersion(conn.db);
      const changed = version !== conn.version;
      const result = readTransaction(conn.db, () => work(conn.db, changed));
      conn.version = version;
      this.recovered();
      return result;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  close(): void {
    this.conn?.db.close();
    this.conn = undefined;
  }

  private connection(): NonNullable<DatabaseReader['conn']> {
    const st = statSync(this.path);
    if (this.conn && this.conn.dev === st.dev && this.conn.ino === st.ino) return this.conn;
    this.close();
    const db = openDatabase(this.path, { readonly: true, busyTimeoutMs: 200 });
    try {
      const version = schemaVersion(db);
      if (version !== this.schema)
        throw new Error(
          version < this.schema
            ? `schema version ${version} is older than ${this.schema}; the next sync migrates it`
            : `schema version ${version} is newer than this dnsfence knows (${this.schema}); upgrade dnsfence`,
        );
    } catch (err) {
      db.close();
      throw err;
    }
    this.conn = { db, dev: st.dev, ino: st.ino, version: undefined };
    return this.conn;
  }

  private failed(err: unknown): void {
    // A connection that failed once is not trusted again: the next read opens the file anew.
    this.close();
    const e = err as { code?: string; message?: string };
    const message =
      e.code === 'ENOENT'
        ? 'no database there (yet)'
        : `${e.message ?? String(err)}${e.code && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`;
    if (this.current?.message === message) return;
    this.current = { message, since: this.clock() };
    this.log.warn(`serve: ${this.path}: ${message}; answering with what was read last`);
  }

  private recovered(): void {
    if (!this.current) return;
    this.log.info(
      `serve: ${this.path} can be read again (it could not since ${this.current.since.toISOString()})`,
    );
    this.current = undefined;
  }
}
