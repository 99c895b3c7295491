import type { Command } from 'commander';
import { TARGET_TYPES } from '../../adapters/registry.js';
import { defaultConfigPath, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/types.js';
import { stderrLogger, type Logger } from '../log.js';
import { databaseError, openDatabase, type Db } from '../store/db.js';
import { migrate, requireCurrentSchema } from '../store/migrate.js';
import { noticeLine, type Notice } from '../sync/notices.js';
import { systemClock, type Clock } from '../time.js';

export interface GlobalOptions {
  config?: string;
  db?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  color?: boolean;
}

/** What every command gets: options, a logger on stderr, stdout for results, and the clock. */
export class Context {
  readonly options: GlobalOptions;
  readonly log: Logger;
  readonly clock: Clock = systemClock;
  private config: Config | undefined;
  /** The database this command opened, to name it in errors raised deep inside. */
  database: string | undefined;

  constructor(command: Command, settings: { jsonLogs?: boolean } = {}) {
    this.options = command.optsWithGlobals() as GlobalOptions;
    const level = this.options.verbose ? 'debug' : this.options.quiet ? 'warn' : 'info';
    this.log = stderrLogger(level, settings.jsonLogs === true && this.options.json === true);
  }

  get json(): boolean {
    return this.options.json === true;
  }

  get configPath(): string {
    return this.options.config ?? defaultConfigPath();
  }

  loadConfig(): Config {
    if (!this.config) {
      this.config = loadConfigFile(this.configPath, TARGET_TYPES);
      if (this.options.db) this.config.database = this.options.db;
      for (const w of this.config.warnings) this.log.warn(w);
    }
    return this.config;
  }

  /** The database for a writing command: created 0600 when new, migrated to the current schema. */
  openWritable(): Db {
    const config = this.loadConfig();
    this.database = config.database;
    const db = openDatabase(config.database);
    try {
      migrate(db, config.database);
    } catch (err) {
      db.close();
      throw databaseError(config.database, err);
    }
    return db;
  }

  /** Read-only commands never wait for the lock and never change the file. */
  openReadonly(): Db {
    const config = this.loadConfig();
    this.database = config.database;
    const db = openDatabase(config.database, { readonly: true });
    requireCurrentSchema(db, config.database);
    return db;
  }

  /** A sync's notice, on stderr at its level. */
  notice(n: Notice): void {
    const { level, text } = noticeLine(n);
    this.log[level](text);
  }

  print(text: string): void {
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
  }
}

/** Maps and Sets become objects and arrays in --json output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/**
 * A command's action: it gets its Context first, then commander's arguments, and returns its exit
 * code (commander actions return nothing; this sets the process's).
 */
export function action<A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<number | void>,
  settings: { jsonLogs?: boolean } = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ctx = new Context(args.at(-1) as Command, settings);
    let code: number | void;
    try {
      code = await fn(ctx, ...args);
    } catch (err) {
      // SQLite errors surfacing mid-command (disk full, read-only file) are the user's to fix: one line, named file.
      const sqlite = (err as { code?: string }).code?.startsWith('SQLITE_');
      throw sqlite && ctx.database ? databaseError(ctx.database, err) : err;
    }
    process.exitCode = code ?? 0;
  };
}

/** A repeatable option that also takes comma lists: `--target a --target b,c`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}
