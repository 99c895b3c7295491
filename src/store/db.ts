import { closeSync, existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';

export type Db = Database.Database;

let addon: string | undefined;

/**
 * better-sqlite3's compiled module, where its install (prebuilt or built) puts it. Named
 * explicitly, better-sqlite3 skips the `bindings` package, which searches a dozen paths from the
 * caller's stack trace on every start and cannot find the module from inside the CLI's bundle.
 */
function nativeBinding(): string {
  if (addon === undefined) {
    const file = createRequire(import.meta.url)
      .resolve('better-sqlite3/package.json')
      .replace(/package\.json$/, 'build/Release/better_sqlite3.node');
    if (!existsSync(file))
      throw new UserError(
        `${file}: better-sqlite3's compiled module is missing (reinstall dnsfence, or run npm rebuild better-sqlite3 in ${file.replace(/\/node_modules\/better-sqlite3\/.*$/, '')})`,
      );
    addon = file;
  }
  return addon;
}

/**
 * Opens the SQLite database. A new file is created mode 0600 before SQLite touches it, so the
 * WAL and shared-memory files SQLite derives from it get the same mode.
 */
export function openDatabase(
  path: string,
  options: {
    readonly?: boolean;
    /** A writable connection to a database that must exist already (serve's fetch records). */
    mustExist?: boolean;
    /** How long a statement waits for another connection's lock; long-running readers want less. */
    busyTimeoutMs?: number;
  } = {},
): Db {
  if ((options.readonly || options.mustExist) && !existsSync(path)) {
    throw new UserError(`${path}: no database yet (run dnsfence sync first, or pass --db)`);
  }
  let db: Db;
  try {
    if (!options.readonly && !options.mustExist && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: true,
      nativeBinding: nativeBinding(),
    });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // FULL: a committed audit entry survives power loss, not only a crash of the process.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    // Touch the schema so a corrupted or foreign file is reported here, once.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    throw databaseError(path, err);
  }
  return db;
}

/**
 * A number that changes when another connection has committed to the database since this one
 * last asked: a long-running reader rereads only then.
 */
export function dataVersion(db: Db): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/** A read transaction on a connection: one state of the database for everything `work` reads. */
export function readTransaction<T>(db: Db, work: () => T): T {
  return db.transaction(work)();
}

/**
 * Commits on this connection are not flushed to disk one by one (WAL mode): a crash of the process
 * loses none of them, a power loss the last few. For records that are not the audit log.
 */
export function relaxDurability(db: Db): void {
  db.pragma('synchronous = NORMAL');
}

/** A database in memory, gone when closed. */
export function openMemoryDatabase(): Db {
  return new Database(':memory:', { nativeBinding: nativeBinding() });
}

export function databaseError(path: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new UserError(`${path}: not a dnsfence database or corrupted (${e.message}); nothing was pushed`);
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code === 'EACCES' ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'EROFS'
  ) {
    return new UserError(`${path}: cannot open the database for writing (${e.message ?? code})`);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'SQLITE_IOERR_WRITE') {
    return new UserError(
      `${path}: disk full while writing the database; nothing was lost, free space and rerun`,
    );
  }
  return new UserError(`${path}: database error: ${e.message ?? String(err)}`);
}

/**
 * Runs `work` with commits that are not flushed to disk one by one (synchronous = NORMAL; the
 * database is in WAL mode). A power loss may take back the last of those commits, never leave a
 * torn one, and a crash of the process loses none of them. The next commit made with the
 * connection's own setting (FULL, openDatabase), restored once `work` is done, flushes the log
 * and with it every commit before. For the many small batches of answers a sync commits while it
 * resolves: what it writes to a firewall and audits is committed with FULL after them.
 */
export async function durableAtEnd<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const own = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    return await work();
  } finally {
    db.pragma(`synchronous = ${own}`);
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, prepared once per connection: hot paths run thousands of times per sync. */
export function stmt(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}
