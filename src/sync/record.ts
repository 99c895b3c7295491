import type { Config, ListConfig } from '../config/types.js';
import type { DesiredList } from '../planner/types.js';
import type { LookupResult } from '../resolver/types.js';
import { durableAtEnd, type Db } from '../store/db.js';
import { lookupRecorder, recordLookups } from '../store/observations.js';
import { computeDesired, readPresence } from './desired-from-store.js';
import { questionsOf, resolveAll } from './resolve-all.js';

/**
 * Answers are committed in batches of this many while a sync resolves. Recording a batch holds
 * the event loop, and no query goes out meanwhile: with batches of 512 (about 4 ms each) a fast
 * resolver ran out of questions, and an unchanged 10,000-name sync took 1.22× its pure
 * resolution; with batches of 64, as many as the default concurrency keeps in flight, 1.07×.
 */
const RECORD_BATCH = 64;

export interface Pass {
  lookups: LookupResult[];
  /** The lookups still to record when the desired sets are computed. */
  unrecorded: LookupResult[];
}

/**
 * The pass's lookups. A sync resolves and records each answer while the other lookups are still
 * on the wire; a preview resolves and records nothing yet; given lookups (watch) are recorded
 * with the desired sets.
 */
export async function resolvePass(
  config: Config,
  db: Db,
  lists: ListConfig[],
  at: Date,
  options: { preview: boolean; lookups?: LookupResult[] },
): Promise<Pass> {
  if (options.lookups) return { lookups: options.lookups, unrecorded: options.lookups };
  if (options.preview) {
    const lookups = await resolveAll(config, questionsOf(lists));
    return { lookups, unrecorded: lookups };
  }
  return { ...(await resolveAndRecord(config, db, lists, at)), unrecorded: [] };
}

/**
 * Batches are committed as they fill: the write lock is held for milliseconds at a time, never
 * through slow lookups, so a `plan` (which takes no run lock) is not kept waiting. The lock file
 * makes this sync the only other writer. What a sync killed part-way committed are true
 * observations; the next sync goes on from them.
 */
async function resolveAndRecord(
  config: Config,
  db: Db,
  lists: ListConfig[],
  at: Date,
): Promise<{ lookups: LookupResult[] }> {
  const questions = questionsOf(lists);
  const recorder = lookupRecorder(db);
  const batch: LookupResult[] = [];
  let failed: unknown;
  const commitBatch = () => {
    if (failed === undefined && batch.length > 0) {
      try {
        db.transaction(() => {
          for (const result of batch) recorder.record(result, at);
        })();
      } catch (err) {
        // Reported once resolution is over: the lookups in flight finish first.
        failed = err;
      }
    }
    batch.length = 0;
  };
  // Hundreds of commits, made durable together by the first full commit after them.
  const lookups = await durableAtEnd(db, async () => {
    const results = await resolveAll(config, questions, (result) => {
      batch.push(result);
      if (batch.length >= RECORD_BATCH) commitBatch();
    });
    commitBatch();
    return results;
  });
  if (failed !== undefined) throw failed;
  return { lookups };
}

/**
 * The desired sets, computed in one transaction, from one state of the store. Lookups not yet
 * recorded are recorded in there; a preview rolls it back, so it leaves nothing behind.
 */
export function desiredSets(
  config: Config,
  db: Db,
  lists: ListConfig[],
  at: Date,
  pass: Pass,
  preview: boolean,
): Map<string, DesiredList> {
  const desired = new Map<string, DesiredList>();
  db.exec('BEGIN IMMEDIATE');
  try {
    recordLookups(db, pass.unrecorded, at);
    const presence = readPresence(db, config, lists, at.getTime());
    for (const list of lists)
      desired.set(list.name, computeDesired(db, config, list, at.getTime(), presence));
    db.exec(preview ? 'ROLLBACK' : 'COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
  return desired;
}
