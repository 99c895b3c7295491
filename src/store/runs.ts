import type { Db } from './db.js';

import type { PushOutcome, RunOutcome } from '../model/run.js';

export interface RunRow {
  id: number;
  command: string;
  started_at: string;
  finished_at: string | null;
  outcome: RunOutcome;
  exit_code: number | null;
  config_hash: string;
  pid: number;
  summary: string | null;
}

export interface PushRow {
  run_id: number;
  target: string;
  at: string;
  outcome: PushOutcome;
  added: number;
  removed: number;
  detail: string | null;
}

export function beginRun(db: Db, command: string, configHash: string, at: Date): number {
  // A run still marked running was killed: the lock says no live process holds it.
  db.prepare("UPDATE runs SET outcome = 'interrupted' WHERE outcome = 'running'").run();
  const info = db
    .prepare(
      "INSERT INTO runs (command, started_at, outcome, config_hash, pid) VALUES (?, ?, 'running', ?, ?)",
    )
    .run(command, at.toISOString(), configHash, process.pid);
  return Number(info.lastInsertRowid);
}

/**
 * A run recorded whole, begun and finished: the forwarder's held additions, which happen between
 * the syncs of a watch (beginRun would take the watch's own run in progress for a killed one).
 */
export function recordRun(
  db: Db,
  run: {
    command: string;
    configHash: string;
    startedAt: Date;
    finishedAt: Date;
    outcome: RunOutcome;
    exitCode: number;
    summary: string;
  },
): number {
  const info = db
    .prepare(
      `INSERT INTO runs (command, started_at, finished_at, outcome, exit_code, config_hash, pid, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      run.command,
      run.startedAt.toISOString(),
      run.finishedAt.toISOString(),
      run.outcome,
      run.exitCode,
      run.configHash,
      process.pid,
      run.summary,
    );
  return Number(info.lastInsertRowid);
}

export function finishRun(
  db: Db,
  id: number,
  outcome: RunOutcome,
  exitCode: number,
  summary: string,
  at: Date,
): void {
  db.prepare('UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, summary = ? WHERE id = ?').run(
    at.toISOString(),
    outcome,
    exitCode,
    summary,
    id,
  );
}

/**
 * Marks this process's running run as interrupted, at once: a signal must not leave `status`
 * showing it running until the next run relabels it. Returns its id, if it had begun.
 */
export function interruptRun(db: Db, signal: string, exitCode: number, at: Date): number | undefined {
  if (db.inTransaction) db.exec('ROLLBACK');
  const row = db
    .prepare(
      `UPDATE runs SET outcome = 'interrupted', finished_at = ?, exit_code = ?, summary = ?
       WHERE outcome = 'running' AND pid = ? RETURNING id`,
    )
    .get(at.toISOString(), exitCode, `interrupted by ${signal}`, process.pid) as { id: number } | undefined;
  return row?.id;
}

export function recordPush(db: Db, push: PushRow): void {
  db.prepare(
    `INSERT OR REPLACE INTO pushes (run_id, target, at, outcome, added, removed, detail)
     VALUES (@run_id, @target, @at, @outcome, @added, @removed, @detail)`,
  ).run(push);
}

/** The latest push per target, and the latest successful one. */
export function latestPushes(db: Db): { target: string; last: PushRow; lastOk: PushRow | undefined }[] {
  // One index seek per target (pushes_by_target) instead of a scan of every push ever made.
  const targets = db
    .prepare(
      `WITH RECURSIVE t(target) AS (
         SELECT min(target) FROM pushes
         UNION ALL SELECT (SELECT min(target) FROM pushes WHERE target > t.target) FROM t WHERE t.target IS NOT NULL)
       SELECT target FROM t WHERE target IS NOT NULL`,
    )
    .all() as {
    target: string;
  }[];
  const last = db.prepare('SELECT * FROM pushes WHERE target = ? ORDER BY run_id DESC LIMIT 1');
  const lastOk = db.prepare(
    "SELECT * FROM pushes WHERE target = ? AND outcome IN ('ok', 'unchanged') ORDER BY run_id DESC LIMIT 1",
  );
  return targets.map(({ target }) => ({
    target,
    last: last.get(target) as PushRow,
    lastOk: lastOk.get(target) as PushRow | undefined,
  }));
}

export function lastRun(db: Db): RunRow | undefined {
  return db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
}

/**
 * How the latest run before this one that ran to its end turned out (a killed run says nothing
 * about the lists): `recovered` compares against it.
 */
export function previousOutcome(db: Db, runId: number): RunOutcome | undefined {
  const row = db
    .prepare(
      "SELECT outcome FROM runs WHERE id < ? AND outcome IN ('ok', 'degraded', 'failed') ORDER BY id DESC LIMIT 1",
    )
    .get(runId) as { outcome: RunOutcome } | undefined;
  return row?.outcome;
}

/** The run that finished last (whatever its outcome): what /healthz judges by. */
export function lastFinishedRun(db: Db): RunRow | undefined {
  return db.prepare('SELECT * FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1').get() as
    RunRow | undefined;
}
