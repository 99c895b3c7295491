import type { Db } from './db.js';

export interface PruneResult {
  cutoff: string;
  audit: number;
  presence: number;
  failures: number;
  negativeAnswers: number;
  pushes: number;
  runs: number;
  notifications: number;
  /** Requests for feed files that `serve` recorded. */
  fetches: number;
  /** Names learned from DNS traffic that no client asked for since the cutoff. */
  learned: number;
}

const NO_DELETE_TRIGGER = `CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END`;

/**
 * Removes history older than `cutoff` in one transaction. The audit entries cut from the front of
 * the chain are replaced by a checkpoint holding the hash of the last one, so the rest of the chain
 * still verifies.
 */
export function prune(db: Db, cutoff: Date, now: Date): PruneResult {
  const c = cutoff.toISOString();
  return db
    .transaction((): PruneResult => {
      const last = db.prepare('SELECT seq, hash FROM audit WHERE at < ? ORDER BY seq DESC LIMIT 1').get(c) as
        { seq: number; hash: string } | undefined;
      let audit = 0;
      if (last) {
        // The only deletion the log ever allows, and only of a prefix: the trigger is lifted inside this transaction.
        db.exec('DROP TRIGGER audit_no_delete');
        audit = db.prepare('DELETE FROM audit WHERE seq <= ?').run(last.seq).changes;
        db.exec(NO_DELETE_TRIGGER);
        db.prepare(
          'INSERT INTO audit_checkpoints (at, pruned_through_seq, head_hash, pruned_entries, older_than) VALUES (?, ?, ?, ?, ?)',
        ).run(now.toISOString(), last.seq, last.hash, audit, c);
      }
      // An open interval ends at its lookup's last success: one whose name last answered before
      // the cutoff goes too, and the lookup forgets that answer, so that the name's next answer
      // opens new intervals rather than taking the deleted ones for still open.
      const presence =
        db.prepare('DELETE FROM presence WHERE last_seen < ?').run(c).changes +
        db
          .prepare(
            `DELETE FROM presence WHERE last_seen IS NULL AND id IN (
               SELECT p.id FROM presence p JOIN lookups l ON l.name = p.name AND l.family = p.family
               WHERE p.last_seen IS NULL AND l.last_success < ?)`,
          )
          .run(c).changes;
      db.prepare(
        `UPDATE lookups SET answer = NULL, answer_ttls = NULL, answer_resolver = NULL, answer_chain = NULL
         WHERE last_success < ?`,
      ).run(c);
      const failures = db.prepare('DELETE FROM failures WHERE last_at < ?').run(c).changes;
      const negativeAnswers = db.prepare('DELETE FROM negative_answers WHERE last_at < ?').run(c).changes;
      const pushes = db.prepare('DELETE FROM pushes WHERE at < ?').run(c).changes;
      const notifications = db.prepare('DELETE FROM notifications WHERE at < ?').run(c).changes;
      const fetches = db.prepare('DELETE FROM feed_fetches WHERE at < ?').run(c).changes;
      // The cutoff is longer ago than any list's retention: nothing of theirs is listed any more.
      const learned = db.prepare('DELETE FROM learned WHERE last_queried < ?').run(c).changes;
      const runs = db
        .prepare(
          `DELETE FROM runs WHERE coalesce(finished_at, started_at) < ?
         AND id NOT IN (SELECT run_id FROM pushes) AND id NOT IN (SELECT run_id FROM audit)`,
        )
        .run(c).changes;
      return {
        cutoff: c,
        audit,
        presence,
        failures,
        negativeAnswers,
        pushes,
        runs,
        notifications,
        fetches,
        learned,
      };
    })
    .immediate();
}

/** Gives the space of what was pruned back to the file system: the log folded in, the file rewritten. */
export function compact(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('VACUUM');
}
