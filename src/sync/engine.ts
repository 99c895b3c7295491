import { createAdapter, type Adapter, type ListRef, type ListUpdate } from '../../adapters/index.js';
import { familyOf } from '../address.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';
import { ConfigError, errorMessage, ExitCode } from '../errors.js';
import type { Logger } from '../log.js';
import { diffList, type ListDiff } from '../planner/diff.js';
import { applySafety } from '../planner/safety.js';
import type { DesiredList } from '../planner/types.js';
import type { Change } from '../model/change.js';
import { isSuccess, type LookupResult } from '../resolver/types.js';
import { loadApplied } from '../store/applied.js';
import {
  addLeftover,
  dropLeftoversAt,
  dropPlacement,
  loadLeftovers,
  loadPlacements,
  savePlace,
  saveSettings,
  type Leftover,
  type Place,
  type Placement,
} from '../store/placements.js';
import { explainByConfig, listSettings, whereabouts, type Whereabouts } from './placements.js';
import { appendAudit } from '../store/audit.js';
import { deferringFlush, type Db } from '../store/db.js';
import { lookupRecorder, PresenceReader, recordLookups } from '../store/observations.js';
import { computeDesired, horizonOf } from './desired-from-store.js';
import { beginRun, finishRun, recordPush } from '../store/runs.js';
import { type PushOutcome, type RunOutcome } from '../model/run.js';
import type { Clock } from '../time.js';
import { questionsOf, resolveAll } from './resolve-all.js';

export interface SyncOptions {
  command: string;
  dryRun: boolean;
  force: boolean;
  targets?: string[];
  lists?: string[];
  clock: Clock;
  log: Logger;
  /** Answers already looked up (watch, the drift check): recorded instead of resolving. */
  lookups?: LookupResult[];
  /**
   * Names already warned about as resolving to no address, in a process that syncs many times
   * (watch): said once, and again only after they resolved in between.
   */
  warned?: Set<string>;
}

export interface TargetResult {
  target: string;
  outcome: PushOutcome | 'dry-run';
  /** Changes written (or, in a dry run, that would be written). */
  changes: Change[];
  /** Changes that happened outside dnsfence and were only recorded. */
  recorded: Change[];
  held: Change[];
  messages: string[];
  error?: string;
}

export interface SyncResult {
  runId: number | undefined;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  lookups: LookupResult[];
  lists: DesiredList[];
  targets: TargetResult[];
  exitCode: ExitCode;
}

function scope<T extends { name: string }>(
  all: Map<string, T>,
  wanted: string[] | undefined,
  key: string,
  file: string,
): T[] {
  if (!wanted || wanted.length === 0) return [...all.values()];
  return wanted.map((name) => {
    const item = all.get(name);
    if (!item)
      throw new ConfigError(
        `${file}: --${key} ${name}: no such ${key} (have: ${[...all.keys()].join(', ') || 'none'})`,
      );
    return item;
  });
}

/**
 * One pass of the loop: resolve, record, compute desired sets, diff against every target,
 * apply (unless dry run) and audit. `plan`, `sync --dry-run` and `sync` are this one path.
 */
export async function runSync(config: Config, db: Db, options: SyncOptions): Promise<SyncResult> {
  const { log, clock } = options;
  const lists = scope(config.lists, options.lists, 'list', config.file);
  const targets = scope(config.targets, options.targets, 'target', config.file);
  // Build every adapter first: an unusable target type is a configuration error (exit 2), found before any work.
  const adapters = new Map(
    await Promise.all(targets.map(async (t) => [t.name, await createAdapter(t)] as const)),
  );
  for (const a of adapters.values()) for (const w of a.warnings ?? []) log.warn(w);
  const early = readLocalTargets(targets, adapters, lists);
  const start = clock();
  const runId = options.dryRun ? undefined : beginRun(db, options.command, config.hash, start);

  // A pass has one time, its start, just before its questions go out: every answer and the
  // desired sets use it, so names that answered in the same pass were seen together, and nothing
  // seen in this pass can count as expired however long the slowest lookup took.
  const streaming = !options.lookups && !options.dryRun;
  const { lookups, presence } = streaming
    ? await resolveAndRecord(config, db, lists, start)
    : { lookups: options.lookups ?? (await resolveAll(config, questionsOf(lists))), presence: undefined };

  // The desired sets are computed in one transaction, from one state of the store. A dry run
  // records its answers only in there and rolls it back; given lookups (watch, tests) are recorded
  // in there too.
  const desired = new Map<string, DesiredList>();
  db.exec('BEGIN IMMEDIATE');
  try {
    if (!streaming) recordLookups(db, lookups, start);
    for (const list of lists)
      desired.set(list.name, computeDesired(db, config, list, start.getTime(), presence));
    db.exec(options.dryRun ? 'ROLLBACK' : 'COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
  for (const l of lookups) {
    if (!isSuccess(l.outcome))
      log.warn(
        `${l.name} ${l.family === 'ipv4' ? 'A' : 'AAAA'}: ${l.outcome}${l.detail ? ` (${l.detail})` : ''}`,
      );
  }
  warnWithoutAddress(lookups, log, options.warned ?? new Set());
  for (const d of desired.values()) {
    for (const r of d.rejected)
      log.warn(
        `${d.list}: dropped answer ${r}${r.endsWith('(outside allow)') ? '' : ' (set allow_private for internal names)'}`,
      );
    for (const n of d.staleNames)
      log.warn(`${d.list}: ${n} is failing; its last good addresses are kept (stale_limit)`);
  }

  const placements = loadPlacements(db);
  const run: TargetRun = {
    config,
    db,
    lists,
    desired,
    runId,
    options,
    now: start,
    placements: new Map(placements.map((p) => [placementKey(p.target, p.list), p])),
    unconfigured: new Map(
      placements.filter((p) => !config.targets.get(p.target)?.lists.has(p.list)).map((p) => [p.location, p]),
    ),
    leftovers: loadLeftovers(db),
  };
  const results = await Promise.all(
    targets.map((t) =>
      syncTarget(run, t, adapters.get(t.name) as Adapter, early.get(t.name)).catch((err): TargetResult => {
        const message = errorMessage(err);
        return {
          target: t.name,
          outcome: 'failed',
          changes: [],
          recorded: [],
          held: [],
          messages: [],
          error: message,
        };
      }),
    ),
  );

  // Only a sync of everything knows that nothing took these over.
  const everything = targets.length === config.targets.size && lists.length === config.lists.size;
  if (runId !== undefined && everything) leaveUnconfigured(db, runId, run, log, clock);

  for (const r of results) {
    if (r.error) log.error(`target ${r.target}: ${r.error.replace(new RegExp(`^target ${r.target}: `), '')}`);
    for (const m of r.messages) log.warn(m);
    if (runId !== undefined) {
      recordPush(db, {
        run_id: runId,
        target: r.target,
        at: clock().toISOString(),
        // Only runs that push are recorded, so a dry-run outcome never reaches here.
        outcome: r.outcome as PushOutcome,
        added: r.changes.filter((c) => c.action === 'added').length,
        removed: r.changes.filter((c) => c.action === 'removed').length,
        detail: r.error ?? (r.messages.join('; ') || null),
      });
    }
  }

  const failedTargets = results.filter((r) => r.outcome === 'failed' || r.outcome === 'partial');
  const degraded = lookups.some((l) => !isSuccess(l.outcome)) || results.some((r) => r.held.length > 0);
  const exitCode = failedTargets.length > 0 ? ExitCode.failed : degraded ? ExitCode.degraded : ExitCode.ok;
  const finished = clock();
  if (runId !== undefined) {
    const outcome: RunOutcome =
      exitCode === ExitCode.failed ? 'failed' : exitCode === ExitCode.degraded ? 'degraded' : 'ok';
    const changed = results.reduce((n, r) => n + r.changes.length, 0);
    const failing = lookups.filter((l) => !isSuccess(l.outcome)).length;
    finishRun(
      db,
      runId,
      outcome,
      exitCode,
      `${changed} change(s), ${failing} failed lookup(s), ${failedTargets.length} failed target(s)`,
      finished,
    );
  }
  return {
    runId,
    startedAt: start.toISOString(),
    finishedAt: finished.toISOString(),
    dryRun: options.dryRun,
    lookups,
    lists: [...desired.values()],
    targets: results,
    exitCode,
  };
}

/**
 * A configured name that answers NXDOMAIN or NODATA in every family is almost always a typo or a
 * retired host. Those are answers, not failures (the exit code stays), but they are said: one
 * line per name and run.
 */
function warnWithoutAddress(lookups: readonly LookupResult[], log: Logger, warned: Set<string>): void {
  const byName = new Map<string, LookupResult[]>();
  for (const l of lookups) {
    const known = byName.get(l.name);
    if (known) known.push(l);
    else byName.set(l.name, [l]);
  }
  for (const [name, results] of byName) {
    if (results.some((r) => r.addresses.length > 0 || !isSuccess(r.outcome))) {
      if (results.some((r) => r.addresses.length > 0)) warned.delete(name);
      continue;
    }
    if (warned.has(name)) continue;
    warned.add(name);
    const outcomes = results
      .map((r) => `${r.outcome.toUpperCase()} for ${r.family === 'ipv4' ? 'A' : 'AAAA'}`)
      .join(', ');
    log.warn(
      `${name}: no address (${outcomes}); a typo, or a retired host? Its earlier addresses leave through retention`,
    );
  }
}

/**
 * Starts reading the local targets (nft, list files), to be awaited by syncTarget: the read then
 * happens while DNS resolves. `nft -j list` of a large set takes a while of its own.
 */
function readLocalTargets(
  targets: TargetConfig[],
  adapters: Map<string, Adapter>,
  lists: ListConfig[],
): Map<string, Promise<Map<string, Set<string>>>> {
  const early = new Map<string, Promise<Map<string, Set<string>>>>();
  for (const t of targets) {
    const adapter = adapters.get(t.name) as Adapter;
    const refs = refsOf(t, lists);
    if (!adapter.readsLocally || refs.length === 0) continue;
    // After the first queries are out: a list file is parsed synchronously.
    const read = new Promise((r) => setImmediate(r)).then(() => adapter.read(refs));
    // Awaited, and a failure reported, by syncTarget; this only keeps Node from calling it unhandled meanwhile.
    read.catch(() => undefined);
    early.set(t.name, read);
  }
  return early;
}

/**
 * Answers are committed in batches of this many while a sync resolves. Recording a batch holds
 * the event loop, and no query goes out meanwhile: with batches of 512 (about 4 ms each) a fast
 * resolver ran out of questions, and an unchanged 10,000-name sync took 1.22× its pure
 * resolution; with batches of 64, as many as the default concurrency keeps in flight, 1.07×.
 */
const RECORD_BATCH = 64;

/**
 * Resolves the lists' names and records each answer while the other lookups are still on the
 * wire. Batches are committed as they fill: the write lock is held for milliseconds at a time,
 * never through slow lookups, so a `plan` (which takes no run lock) is not kept waiting. The
 * lock file makes this sync the only other writer. What a sync killed part-way committed are
 * true observations; the next sync goes on from them. The presence of each name whose lookups
 * are all committed is read in between as well, for the desired sets.
 */
async function resolveAndRecord(
  config: Config,
  db: Db,
  lists: ListConfig[],
  at: Date,
): Promise<{ lookups: LookupResult[]; presence: PresenceReader }> {
  const questions = questionsOf(lists);
  const recorder = lookupRecorder(db);
  const horizon = Math.max(0, ...lists.map((l) => horizonOf(config, l)));
  const presence = new PresenceReader(db, new Date(at.getTime() - horizon), questions);
  const batch: LookupResult[] = [];
  let failed: unknown;
  const flush = () => {
    if (failed === undefined && batch.length > 0) {
      try {
        db.transaction(() => {
          for (const result of batch) recorder.record(result, at);
        })();
        presence.recorded(batch);
      } catch (err) {
        // Reported once resolution is over: the lookups in flight finish first.
        failed = err;
      }
    }
    batch.length = 0;
  };
  // Hundreds of commits: flushed to disk together by the first commit after them (deferringFlush).
  const lookups = await deferringFlush(db, async () => {
    const results = await resolveAll(config, questions, (result) => {
      batch.push(result);
      if (batch.length >= RECORD_BATCH) flush();
    });
    flush();
    return results;
  });
  if (failed !== undefined) throw failed;
  presence.flush();
  return { lookups, presence };
}

/** The lists of this sync that the target holds, with their names on the target. */
function refsOf(target: TargetConfig, lists: ListConfig[]): ListRef[] {
  return lists
    .filter((l) => target.lists.has(l.name))
    .map((l) => ({ list: l.name, remote: target.lists.get(l.name) as string }));
}

/** What every target of one pass shares. */
interface TargetRun {
  config: Config;
  db: Db;
  lists: ListConfig[];
  desired: Map<string, DesiredList>;
  runId: number | undefined;
  options: SyncOptions;
  now: Date;
  /** Where each list lived on each target at the last sync, by `target list`. */
  placements: Map<string, Placement>;
  /** Placements of targets or lists no longer configured, by location: a rename takes one over. */
  unconfigured: Map<string, Placement>;
  leftovers: Leftover[];
}

const placementKey = (target: string, list: string) => `${target}\u0000${list}`;

async function syncTarget(
  run: TargetRun,
  target: TargetConfig,
  adapter: Adapter,
  earlyRead: Promise<Map<string, Set<string>>> | undefined,
): Promise<TargetResult> {
  const { config, db, options, runId } = run;
  const refs = refsOf(target, run.lists);
  const result: TargetResult = {
    target: target.name,
    outcome: 'unchanged',
    changes: [],
    recorded: [],
    held: [],
    messages: [],
  };
  if (refs.length === 0) return result;
  try {
    const actual = await (earlyRead ?? adapter.read(refs));
    const diffs: ListDiff[] = [];
    const moves: { ref: ListRef; place: Place; where: Whereabouts }[] = [];
    for (const ref of refs) {
      const list = config.lists.get(ref.list) as ListConfig;
      const place = adapter.place(ref);
      const where = whereabouts({
        target: target.name,
        list,
        location: place.location,
        prior: run.placements.get(placementKey(target.name, ref.list)),
        unconfigured: run.unconfigured,
        applied: (t, l) => loadApplied(db, t, l),
      });
      if (where.renamedFrom) run.unconfigured.delete(place.location);
      moves.push({ ref, place, where });
      if (where.left)
        result.messages.push(
          `target ${target.name}: list ${ref.list} now lives in ${place.place}; the ${where.recorded.length} entries ` +
            `dnsfence put in ${where.left.place} stay there: remove it with: ${where.left.removal}`,
        );
      const diff = diffList({
        target: target.name,
        desired: run.desired.get(ref.list) as DesiredList,
        actual: actual.get(ref.list) ?? new Set(),
        applied: where.applied,
        families: adapter.families,
        ...(adapter.accepts ? { accepts: (a: string) => adapter.accepts!(a) } : {}),
        ...(adapter.foreign ? { foreign: adapter.foreign(ref.list) } : {}),
        ...(adapter.labels ? { labels: adapter.labels(ref.list) } : {}),
        familyOf,
      });
      const explained = explainByConfig(
        diff,
        movedHere(run.leftovers, target.name, ref.list, where),
        where.before && {
          desired: computeDesired(db, config, where.before.list, run.now.getTime()),
          change: where.before.change,
        },
      );
      const refused = [...(run.desired.get(ref.list)?.entries.keys() ?? [])].filter(
        (a) => adapter.accepts && !adapter.accepts(a),
      );
      if (refused.length > 0) {
        const note = `${target.name}/${ref.list}: ${refused.join(', ')} cannot be held by a ${target.type} target; left out`;
        if (options.dryRun) result.messages.push(note);
        else options.log.debug(note);
      }
      const maxRemove = list.maxRemove ?? target.maxRemove ?? config.safety.maxRemove;
      const verdict = applySafety(explained, maxRemove, options.force);
      if (verdict.message) result.messages.push(verdict.message);
      result.held.push(...verdict.held);
      diffs.push(verdict.diff);
    }
    result.recorded = [...moves.flatMap((m) => m.where.recorded), ...diffs.flatMap((d) => d.record)];
    const updates: ListUpdate[] = diffs
      .filter((d) => d.add.length > 0 || d.remove.length > 0 || d.relabel.length > 0)
      .map((d) => ({
        list: d.list,
        remote: target.lists.get(d.list) as string,
        add: d.add,
        remove: d.remove,
        desired: d.desired,
        relabel: d.relabel,
      }));
    const planned = updates.flatMap((u) => [...u.add, ...u.remove]);
    if (options.dryRun || runId === undefined) {
      return { ...result, outcome: 'dry-run', changes: planned };
    }
    db.transaction(() => {
      if (result.recorded.length > 0) appendAudit(db, runId, options.clock(), result.recorded);
      recordPlaces(db, target.name, moves, run.now);
    })();
    const pending = adapter.pending?.() ?? false;
    let outcome: PushOutcome;
    if (updates.length === 0 && !pending) outcome = result.held.length > 0 ? 'held' : 'unchanged';
    else {
      const applied = await adapter.apply(updates);
      result.messages.push(...(applied.messages ?? []));
      if (applied.applied.length > 0)
        db.transaction(() => appendAudit(db, runId, options.clock(), applied.applied))();
      result.changes = applied.applied;
      if (applied.error) {
        return {
          ...result,
          outcome: applied.applied.length > 0 ? 'partial' : 'failed',
          error: applied.error,
        };
      }
      outcome = result.held.length > 0 ? 'held' : 'ok';
    }
    // The settings the lists now hold on the target: the next sync compares against these.
    db.transaction(() => {
      for (const { ref } of moves)
        saveSettings(db, target.name, ref.list, listSettings(config.lists.get(ref.list) as ListConfig));
    })();
    return { ...result, outcome };
  } catch (err) {
    return { ...result, outcome: 'failed', error: errorMessage(err) };
  } finally {
    await adapter.close();
  }
}

/**
 * A target or a list that is no longer configured leaves its place as it was: what dnsfence put
 * there leaves the audit log's account for reason `config`, and the place is named, with the
 * command that removes it, here and in `status`.
 */
function leaveUnconfigured(db: Db, runId: number, run: TargetRun, log: Logger, clock: Clock): void {
  for (const p of run.unconfigured.values()) {
    const applied = loadApplied(db, p.target, p.list);
    const gone = whyUnconfigured(run.config, p);
    const changes: Change[] = [...applied].map(([address, known]) => ({
      target: p.target,
      list: p.list,
      action: 'removed',
      address,
      names: known.names,
      reason: 'config',
      detail: `${gone}; left as it was in ${p.place}`,
    }));
    db.transaction(() => {
      if (changes.length > 0) appendAudit(db, runId, clock(), changes);
      addLeftover(db, p.target, p.list, p, [...applied.keys()], run.now);
      dropPlacement(db, p.target, p.list);
    })();
    log.warn(
      `target ${p.target}: list ${p.list}: ${gone}; the ${changes.length} entries dnsfence put in ${p.place} stay there: remove it with: ${p.removal}`,
    );
  }
}

function whyUnconfigured(current: Config, p: Placement): string {
  return current.targets.has(p.target)
    ? `list ${p.list} is no longer configured for this target`
    : `target ${p.target} is no longer configured`;
}

/** Entries of a list that were in a place it has left: they arrive in the new place for reason `config`. */
function movedHere(
  leftovers: readonly Leftover[],
  target: string,
  list: string,
  where: Whereabouts,
): Map<string, { place: string }> {
  const moved = new Map<string, { place: string }>();
  for (const l of leftovers)
    if (l.target === target && l.list === list) for (const a of l.addresses) moved.set(a, l);
  const left = where.left;
  if (left) for (const c of where.recorded) moved.set(c.address, left);
  return moved;
}

/** Where each list of the target lives now, the places it left, and renames taken over. */
function recordPlaces(
  db: Db,
  target: string,
  moves: { ref: ListRef; place: Place; where: Whereabouts }[],
  at: Date,
): void {
  for (const { ref, place, where } of moves) {
    if (where.left)
      addLeftover(
        db,
        target,
        ref.list,
        where.left,
        where.recorded.map((c) => c.address),
        at,
      );
    if (where.renamedFrom) dropPlacement(db, where.renamedFrom.target, where.renamedFrom.list);
    savePlace(db, target, ref.list, place, at);
    dropLeftoversAt(db, place.location);
  }
}
