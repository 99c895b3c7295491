import type { Adapter } from '../../adapters/types.js';
import type { Config, ListConfig } from '../config/types.js';
import type { Change } from '../model/change.js';
import type { PushOutcome } from '../model/run.js';
import { changedLists, type Operation } from '../planner/target.js';
import { loadApplied } from '../store/applied.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import {
  addLeftover,
  dropLeftoversAt,
  dropPlacement,
  savePlace,
  saveSettings,
  type Placement,
} from '../store/placements.js';
import type { Clock } from '../time.js';
import type { Notice } from './notices.js';
import type { PlannedTarget } from './plan-target.js';
import { listSettings } from './placements.js';

/** What a target confirmed of its plan. */
export interface Push {
  outcome: PushOutcome;
  /** Changes the target confirmed (all of them reached the audit log). */
  applied: Change[];
  /** The plan's own operations the target confirmed. */
  done: Operation[];
  /** Set when some or all of the plan was not applied. */
  error?: string;
  messages: string[];
}

export interface PushContext {
  config: Config;
  db: Db;
  runId: number;
  clock: Clock;
  now: Date;
}

/**
 * Records what the plan found (changes outside dnsfence, lists the configuration moved), hands the
 * plan to the target, and audits exactly what the target confirmed.
 */
export async function pushOne(ctx: PushContext, planned: PlannedTarget, adapter: Adapter): Promise<Push> {
  const { db, runId, clock } = ctx;
  const { plan } = planned;
  const recorded = plan.lists.flatMap((l) => l.record);
  db.transaction(() => {
    if (recorded.length > 0) appendAudit(db, runId, clock(), recorded);
    recordPlaces(db, { name: plan.target, type: planned.type }, planned, ctx.now);
  })();
  const held = plan.lists.some((l) => l.held.length > 0);
  const writes = changedLists(plan).length > 0 || plan.operations.length > 0;
  let push: Push = { outcome: held ? 'held' : 'unchanged', applied: [], done: [], messages: [] };
  if (writes) {
    const result = await adapter.apply(plan);
    if (result.applied.length > 0) db.transaction(() => appendAudit(db, runId, clock(), result.applied))();
    push = {
      outcome: result.error ? (result.applied.length > 0 ? 'partial' : 'failed') : held ? 'held' : 'ok',
      applied: result.applied,
      done: result.done,
      messages: result.messages ?? [],
      ...(result.error ? { error: result.error } : {}),
    };
  }
  if (push.outcome !== 'failed' && push.outcome !== 'partial') {
    // The settings the lists now hold on the target: the next sync compares against these.
    db.transaction(() => {
      for (const { ref } of planned.places)
        saveSettings(db, plan.target, ref.list, listSettings(ctx.config.lists.get(ref.list) as ListConfig));
    })();
  }
  return push;
}

/** Where each list of the target lives now, the places it left, and renames taken over. */
function recordPlaces(
  db: Db,
  target: { name: string; type: string },
  planned: PlannedTarget,
  at: Date,
): void {
  for (const { ref, place, where } of planned.places) {
    const key = { target: target.name, list: ref.list, type: target.type };
    if (where.left)
      addLeftover(
        db,
        key,
        where.left,
        where.recorded.map((c) => c.address),
        at,
      );
    if (where.renamedFrom) dropPlacement(db, where.renamedFrom.target, where.renamedFrom.list);
    savePlace(db, key, place, at);
    dropLeftoversAt(db, place.location);
  }
}

/**
 * A target or a list that is no longer configured leaves its place as it was: what dnsfence put
 * there leaves the audit log's account for reason `config`, and the place is named, with the
 * command that removes it, here and in `status`.
 */
export function leaveUnconfigured(ctx: PushContext, unconfigured: Iterable<Placement>): Notice[] {
  const { db, runId, clock } = ctx;
  const notices: Notice[] = [];
  for (const p of unconfigured) {
    const applied = loadApplied(db, p.target, p.list);
    const why = ctx.config.targets.has(p.target)
      ? `list ${p.list} is no longer configured for this target`
      : `target ${p.target} is no longer configured`;
    const changes: Change[] = [...applied].map(([address, known]) => ({
      target: p.target,
      list: p.list,
      action: 'removed',
      address,
      names: known.names,
      reason: 'config',
      detail: `${why}; left as it was in ${p.place}`,
    }));
    db.transaction(() => {
      if (changes.length > 0) appendAudit(db, runId, clock(), changes);
      addLeftover(db, p, p, [...applied.keys()], ctx.now);
      dropPlacement(db, p.target, p.list);
    })();
    notices.push({
      kind: 'left-behind',
      target: p.target,
      list: p.list,
      why,
      place: p.place,
      removal: p.removal,
      entries: changes.length,
    });
  }
  return notices;
}
