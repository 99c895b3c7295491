import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { openMemoryDatabase, type Db } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = join(packageRoot(), 'migrations')): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d+)_(.+)\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[2] as string, sql: readFileSync(join(dir, m[0]), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

export function schemaVersion(db: Db): number {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (!exists) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** The versions recorded in `schema_migrations`. */
function appliedVersions(db: Db): Set<number> {
  if (schemaVersion(db) === 0) return new Set();
  return new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
}

/**
 * Applies every migration not recorded yet, in order, each in its own transaction, and records
 * it. Not only those above the highest version: a migration numbered below one already applied
 * (branches that each added one, merged in either order) is applied too.
 */
export function migrate(db: Db, path: string, migrations = loadMigrations(), now = new Date()): number[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new UserError(
      `${path}: database schema version ${current} is newer than this dnsfence knows (${latest}); upgrade dnsfence`,
    );
  }
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const done = appliedVersions(db);
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        now.toISOString(),
      );
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}

/** For read-only commands: the schema must be exactly what this code knows. */
export function requireCurrentSchema(db: Db, path: string, migrations = loadMigrations()): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new UserError(
      `${path}: database schema version ${current} is newer than this dnsfence knows (${latest}); upgrade dnsfence`,
    );
  }
  const done = appliedVersions(db);
  const missing = migrations.filter((m) => !done.has(m.version)).map((m) => m.version);
  if (missing.length > 0) {
    throw new UserError(
      current < latest
        ? `${path}: database schema version ${current} is older than ${latest}; run dnsfence db migrate`
        : `${path}: database schema lacks migration ${missing.join(', ')}; run dnsfence db migrate`,
    );
  }
}

/** An empty database with the current schema, in memory: what a first sync starts from. */
export function emptyDatabase(migrations = loadMigrations()): Db {
  const db = openMemoryDatabase();
  migrate(db, ':memory:', migrations);
  return db;
}
