import { createAdapter, traitsOf } from '../../adapters/registry.js';
import type { Adapter } from '../../adapters/types.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';
import { ConfigError, errorMessage, ExitCode } from '../errors.js';
import type { KeyedLock } from '../keyed-lock.js';
import type { RunOutcome } from '../model/run.js';
import type { Snapshot, TargetPlan } from '../planner/target.js';
import type { DesiredList } from '../planner/types.js';
import { isSuccess, type LookupResult } from '../resolver/types.js';
import type { Db } from '../store/db.js';
import { withLearned } from '../store/learned.js';
import { dropLeftover, loadLeftovers, loadPlacements, type Leftover } from '../store/placements.js';
import { beginRun, finishRun, recordPush } from '../store/runs.js';
import type { Clock } from '../time.js';
import type { Notice } from './notices.js';
import { planOne, placementKey, refsOf, type PlanContext, type PlannedTarget } from './plan-target.js';
import { leaveUnconfigured, pushOne, type Push, type PushContext } from './push-target.js';
import { desiredSets, resolvePass } from './record.js';

export interface SyncOptions {
  command: string;
  /** `plan` and `sync --dry-run`: plan every target, write nothing anywhere. */
  preview: boolean;
  force: boolean;
  targets?: string[];
  lists?: string[];
  clock: Clock;
  /** Answers already looked up (watch, the drift check): recorded instead of resolving. */
  lookups?: LookupResult[];
  /** Hears each notice as it arises; all of them are in the result too. */
  onNotice?: (notice: Notice) => void;
  /**
   * Taken per target from its read to the record of its push (not by a preview): in `watch`, the
   * forwarder adds held addresses to targets between syncs, never in the middle of one.
   */
  gate?: KeyedLock;
}

/** One target in a sync: its plan, and what it confirmed of it (none in a preview). */
export interface TargetOutcome {
  target: string;
  type: string;
  /** Absent when the target could not be read. */
  plan?: TargetPlan;
  /** Absent in a preview, and when there was no plan to push. */
  push?: Push;
  /** Why reading or writing the target failed. */
  error?: string;
}

export interface SyncResult {
  runId: number | undefined;
  startedAt: string;
  finishedAt: string;
  preview: boolean;
  lookups: LookupResult[];
  lists: DesiredList[];
  targets: TargetOutcome[];
  notices: Notice[];
  exitCode: ExitCode;
}

/**
 * One pass of the loop: select, resolve and record, compute the desired sets, plan each target,
 * apply each plan (unless a preview), summarise. `plan`, `sync --dry-run` and `sync` are this one
 * path; a preview stops before applying, so what it shows is what a sync would do.
 */
export async function runSync(config: Config, db: Db, options: SyncOptions): Promise<SyncResult> {
  const notices: Notice[] = [];
  const notice = (n: Notice) => {
    notices.push(n);
    options.onNotice?.(n);
  };
  const { lists: selected, targets } = select(config, options);
  // Every adapter first: a target that cannot be set up (a missing secret) is a configuration error, found before any work.
  const adapters = new Map(
    await Promise.all(
      targets.map(async (t) => [t.name, await createAdapter(t, { db, clock: options.clock })] as const),
    ),
  );
  const release = new Map<string, () => void>();
  try {
    const gate = options.preview ? undefined : options.gate;
    if (gate) for (const t of targets) release.set(t.name, await gate.acquire(t.name));
    for (const a of adapters.values())
      for (const w of a.warnings) notice({ kind: 'target-says', target: a.target, message: w });
    const early = readLocalTargets(targets, adapters, selected);
    // A pass has one time, its start, just before its questions go out: every answer and the
    // desired sets use it, so names that answered in the same pass were seen together, and
    // nothing seen in this pass can count as expired however long the slowest lookup took.
    const start = options.clock();
    // Each list with the names it learned from forwarded answers, as they stand at this pass.
    const lists = withLearned(db, selected, start);
    const runId = options.preview ? undefined : beginRun(db, options.command, config.hash, start);
    const pass = await resolvePass(config, db, lists, start, options);
    const desired = desiredSets(config, db, lists, start, pass, options.preview);
    lookupNotices(pass.lookups, desired).forEach(notice);

    const placements = loadPlacements(db);
    const ctx: PlanContext = {
      config,
      db,
      lists,
      desired,
      now: start,
      force: options.force,
      placements: new Map(placements.map((p) => [placementKey(p.target, p.list), p])),
      unconfigured: new Map(
        placements
          .filter((p) => !config.targets.get(p.target)?.lists.has(p.list))
          .map((p) => [p.location, p]),
      ),
      leftovers: loadLeftovers(db),
    };
    const outcomes = await Promise.all(
      targets.map(async (target): Promise<TargetOutcome> => {
        const adapter = adapters.get(target.name) as Adapter;
        const base = { target: target.name, type: target.type };
        let planned: PlannedTarget;
        try {
          planned = await planOne(ctx, target, adapter, early.get(target.name));
        } catch (err) {
          release.get(target.name)?.();
          return { ...base, error: errorMessage(err) };
        }
        planNotices(planned, target, options.preview).forEach(notice);
        if (runId === undefined) return { ...base, plan: planned.plan };
        const push = await pushOne({ config, db, runId, clock: options.clock, now: start }, planned, adapter)
          .catch((err): Push => ({
            outcome: 'failed',
            applied: [],
            done: [],
            messages: [],
            error: errorMessage(err),
          }))
          .finally(() => release.get(target.name)?.());
        for (const message of push.messages) notice({ kind: 'target-says', target: target.name, message });
        return { ...base, plan: planned.plan, push, ...(push.error ? { error: push.error } : {}) };
      }),
    );
    for (const o of outcomes)
      if (o.error) notice({ kind: 'target-failed', target: o.target, error: o.error });

    if (runId !== undefined) {
      const push: PushContext = { config, db, runId, clock: options.clock, now: start };
      // Only a sync of everything knows that nothing took these over.
      if (targets.length === config.targets.size && lists.length === config.lists.size)
        leaveUnconfigured(push, ctx.unconfigured.values()).forEach(notice);
      for (const o of outcomes) recordTargetPush(db, runId, options.clock, o);
      (await forgetRemovedLeftovers(db, ctx.leftovers, targets, adapters)).forEach(notice);
    }
    const exitCode = exitCodeOf(pass.lookups, outcomes);
    const finished = options.clock();
    if (runId !== undefined)
      finishRun(db, runId, runOutcome(exitCode), exitCode, summary(pass.lookups, outcomes), finished);
    return {
      runId,
      startedAt: start.toISOString(),
      finishedAt: finished.toISOString(),
      preview: options.preview,
      lookups: pass.lookups,
      lists: [...desired.values()],
      targets: outcomes,
      notices,
      exitCode,
    };
  } finally {
    for (const free of release.values()) free();
    await Promise.all([...adapters.values()].map((a) => a.close()));
  }
}

/** Places left behind that the admin has removed since, asked of an adapter of their type that can look. */
async function forgetRemovedLeftovers(
  db: Db,
  leftovers: readonly Leftover[],
  targets: TargetConfig[],
  adapters: Map<string, Adapter>,
): Promise<Notice[]> {
  const notices: Notice[] = [];
  for (const l of leftovers) {
    if (l.probe === undefined) continue;
    const same = targets.find((t) => t.type === l.type);
    const adapter = same && adapters.get(same.name);
    if (!adapter?.stillThere || (await adapter.stillThere(l.probe))) continue;
    dropLeftover(db, l.id);
    notices.push({ kind: 'leftover-gone', target: l.target, list: l.list, place: l.place });
  }
  return notices;
}

/** The lists and targets a sync is limited to (`--list`, `--target`); an unknown one is a usage error. */
function select(config: Config, options: SyncOptions): { lists: ListConfig[]; targets: TargetConfig[] } {
  const pick = <T>(all: Map<string, T>, wanted: string[] | undefined, key: string): T[] => {
    if (!wanted || wanted.length === 0) return [...all.values()];
    return wanted.map(
      (name) =>
        all.get(name) ??
        (() => {
          throw new ConfigError(
            `${config.file}: --${key} ${name}: no such ${key} (have: ${[...all.keys()].join(', ') || 'none'})`,
          );
        })(),
    );
  };
  return {
    lists: pick(config.lists, options.lists, 'list'),
    targets: pick(config.targets, options.targets, 'target'),
  };
}

/**
 * Starts reading the local targets (nft, list files) while DNS resolves: `nft -j list` of a large
 * set takes a while of its own. A firewall reached over the network is read after resolution.
 */
function readLocalTargets(
  targets: TargetConfig[],
  adapters: Map<string, Adapter>,
  lists: ListConfig[],
): Map<string, Promise<Snapshot>> {
  const early = new Map<string, Promise<Snapshot>>();
  for (const t of targets) {
    const refs = refsOf(t, lists);
    if (!traitsOf(t).local || refs.length === 0) continue;
    // After the first queries are out: a list file is parsed synchronously.
    const read = new Promise((r) => setImmediate(r)).then(() => (adapters.get(t.name) as Adapter).read(refs));
    // Awaited, and a failure reported, when the target is planned; this only keeps Node from calling it unhandled meanwhile.
    read.catch(() => undefined);
    early.set(t.name, read);
  }
  return early;
}

/** What the pass's answers and desired sets have to say: failures, names without address, dropped answers. */
function lookupNotices(lookups: readonly LookupResult[], desired: Map<string, DesiredList>): Notice[] {
  const notices: Notice[] = [];
  for (const l of lookups)
    if (!isSuccess(l.outcome))
      notices.push({
        kind: 'lookup-failed',
        name: l.name,
        family: l.family,
        outcome: l.outcome,
        ...(l.detail ? { detail: l.detail } : {}),
      });
  // A configured name that answers NXDOMAIN or NODATA in every family is almost always a typo or
  // a retired host. Those are answers, not failures: the exit code stays.
  const byName = new Map<string, LookupResult[]>();
  for (const l of lookups) byName.set(l.name, [...(byName.get(l.name) ?? []), l]);
  for (const [name, results] of byName)
    if (results.every((r) => r.addresses.length === 0 && isSuccess(r.outcome)))
      notices.push({
        kind: 'no-address',
        name,
        outcomes: results.map((r) => ({ family: r.family, outcome: r.outcome })),
      });
  for (const d of desired.values()) {
    for (const r of d.rejected) notices.push({ kind: 'rejected', list: d.list, ...r });
    for (const name of d.staleNames) notices.push({ kind: 'stale', list: d.list, name });
  }
  return notices;
}

function planNotices(planned: PlannedTarget, target: TargetConfig, preview: boolean): Notice[] {
  const notices: Notice[] = [];
  for (const message of planned.plan.snapshot.warnings)
    notices.push({ kind: 'target-says', target: target.name, message });
  for (const { ref, place, where } of planned.places)
    if (where.left)
      notices.push({
        kind: 'moved',
        target: target.name,
        list: ref.list,
        to: place.place,
        from: where.left.place,
        removal: where.left.removal,
        entries: where.recorded.length,
      });
  for (const l of planned.plan.lists) {
    if (l.hold) notices.push({ kind: 'held', target: target.name, list: l.list, hold: l.hold });
    if (l.refused.length > 0)
      notices.push({
        kind: 'cannot-hold',
        target: target.name,
        list: l.list,
        type: target.type,
        addresses: l.refused,
        preview,
      });
  }
  return notices;
}

function recordTargetPush(db: Db, runId: number, clock: Clock, o: TargetOutcome): void {
  const applied = o.push?.applied ?? [];
  recordPush(db, {
    run_id: runId,
    target: o.target,
    at: clock().toISOString(),
    outcome: o.push?.outcome ?? 'failed',
    added: applied.filter((c) => c.action === 'added').length,
    removed: applied.filter((c) => c.action === 'removed').length,
    detail: o.error ?? (o.push?.messages.join('; ') || null),
  });
}

const failed = (o: TargetOutcome) => o.error !== undefined;

/** 1 when a target failed, 3 when a name failed or a safety limit held removals back, else 0. */
function exitCodeOf(lookups: readonly LookupResult[], outcomes: TargetOutcome[]): ExitCode {
  if (outcomes.some(failed)) return ExitCode.failed;
  const held = outcomes.some((o) => o.plan?.lists.some((l) => l.held.length > 0));
  return lookups.some((l) => !isSuccess(l.outcome)) || held ? ExitCode.degraded : ExitCode.ok;
}

function runOutcome(exitCode: ExitCode): RunOutcome {
  return exitCode === ExitCode.failed ? 'failed' : exitCode === ExitCode.degraded ? 'degraded' : 'ok';
}

function summary(lookups: readonly LookupResult[], outcomes: TargetOutcome[]): string {
  const changed = outcomes.reduce((n, o) => n + (o.push?.applied.length ?? 0), 0);
  const failing = lookups.filter((l) => !isSuccess(l.outcome)).length;
  return `${changed} change(s), ${failing} failed lookup(s), ${outcomes.filter(failed).length} failed target(s)`;
}
