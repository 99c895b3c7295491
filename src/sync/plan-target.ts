import { traitsOf } from '../../adapters/registry.js';
import type { Adapter } from '../../adapters/types.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';
import {
  planTarget,
  type ListInput,
  type ListRef,
  type Snapshot,
  type TargetPlan,
} from '../planner/target.js';
import type { DesiredList } from '../planner/types.js';
import { loadApplied } from '../store/applied.js';
import type { Db } from '../store/db.js';
import type { Leftover, Place, Placement } from '../store/placements.js';
import { computeDesired } from './desired-from-store.js';
import { whereabouts, type Whereabouts } from './placements.js';

/** What every target of one pass shares for planning. */
export interface PlanContext {
  config: Config;
  db: Db;
  lists: ListConfig[];
  desired: Map<string, DesiredList>;
  now: Date;
  force: boolean;
  /** Where each list lived on each target at the last sync, by `placementKey`. */
  placements: Map<string, Placement>;
  /** Placements of targets or lists no longer configured, by location: a rename takes one over. */
  unconfigured: Map<string, Placement>;
  leftovers: Leftover[];
}

/** A target's plan, and where its lists live: what the push records along with it. */
export interface PlannedTarget {
  plan: TargetPlan;
  /** The target's type. */
  type: string;
  places: { ref: ListRef; place: Place; where: Whereabouts }[];
}

export const placementKey = (target: string, list: string) => `${target}\u0000${list}`;

/** The lists of this pass that the target holds, with their names on the target. */
export function refsOf(target: TargetConfig, lists: ListConfig[]): ListRef[] {
  return lists
    .filter((l) => target.lists.has(l.name))
    .map((l) => ({ list: l.name, remote: target.lists.get(l.name) as string }));
}

/**
 * Reads the target (or takes the read started while DNS resolved) and works out its plan: per
 * list what the audit log says it holds where it now lives, what the configuration changed, and
 * the target's own operations.
 */
export async function planOne(
  ctx: PlanContext,
  target: TargetConfig,
  adapter: Adapter,
  read: Promise<Snapshot> | undefined,
): Promise<PlannedTarget> {
  const refs = refsOf(target, ctx.lists);
  const snapshot = await (read ?? adapter.read(refs));
  const places: PlannedTarget['places'] = [];
  const lists = refs.map((ref): ListInput => {
    const list = ctx.config.lists.get(ref.list) as ListConfig;
    const place = adapter.place(ref);
    const where = whereabouts({
      target: target.name,
      list,
      location: place.location,
      prior: ctx.placements.get(placementKey(target.name, ref.list)),
      unconfigured: ctx.unconfigured,
      applied: (t, l) => loadApplied(ctx.db, t, l),
    });
    // A renamed target or list takes its old placement over: nobody else may.
    if (where.renamedFrom) ctx.unconfigured.delete(place.location);
    places.push({ ref, place, where });
    return {
      ref,
      desired: ctx.desired.get(ref.list) as DesiredList,
      applied: where.applied,
      recorded: where.recorded,
      moved: movedHere(ctx.leftovers, target.name, ref.list, where),
      ...(where.before
        ? {
            before: {
              // The settings as last pushed, with the names learned since: learning is not a setting.
              desired: computeDesired(
                ctx.db,
                ctx.config,
                { ...where.before.list, ...learnedOf(ctx.lists, ref.list) },
                ctx.now.getTime(),
              ),
              change: where.before.change,
            },
          }
        : {}),
      maxRemove: list.maxRemove ?? target.maxRemove ?? ctx.config.safety.maxRemove,
    };
  });
  const plan = planTarget({
    target: target.name,
    families: traitsOf(target).families,
    ...(adapter.accepts ? { accepts: (a: string) => adapter.accepts!(a) } : {}),
    snapshot,
    lists,
    force: ctx.force,
    ...(adapter.operations ? { operations: adapter.operations.bind(adapter) } : {}),
  });
  return { plan, type: target.type, places };
}

function learnedOf(lists: readonly ListConfig[], name: string): Pick<ListConfig, 'learned' | 'forgotten'> {
  const list = lists.find((l) => l.name === name);
  return { learned: list?.learned, forgotten: list?.forgotten };
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
