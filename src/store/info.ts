import { statSync } from 'node:fs';
import type { Db } from './db.js';
import { schemaVersion } from './migrate.js';

export interface DbInfo {
  path: string;
  schemaVersion: number;
  bytes: { database: number; wal: number };
  rows: Record<string, number>;
  oldest: { presence: string | null; audit: string | null; run: string | null };
}

const TABLES = [
  'runs',
  'lookups',
  'presence',
  'failures',
  'negative_answers',
  'applied',
  'pushes',
  'audit',
  'audit_checkpoints',
  'feed_content',
  'feed_fetches',
];

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function dbInfo(db: Db, path: string): DbInfo {
  const rows: Record<string, number> = {};
  for (const t of TABLES) rows[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  const one = (sql: string) => (db.prepare(sql).get() as { v: string | null }).v;
  return {
    path,
    schemaVersion: schemaVersion(db),
    bytes: { database: size(path), wal: size(`${path}-wal`) },
    rows,
    oldest: {
      presence: one('SELECT min(first_seen) AS v FROM presence'),
      audit: one('SELECT min(at) AS v FROM audit'),
      run: one('SELECT min(started_at) AS v FROM runs'),
    },
  };
}
