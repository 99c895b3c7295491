import { expect } from 'vitest';
import type { Adapter } from '../adapters/types.js';
import { TargetError } from '../src/errors.js';
import type { Change } from '../src/model/change.js';
import type { ListPlan, Snapshot, TargetPlan } from '../src/planner/target.js';

/**
 * A target plan as the sync would hand it to an adapter, from list changes written by a test:
 * the adapter's own operations are worked out from the snapshot exactly as the planner does.
 */
export function planFor<D>(
  adapter: Adapter<D>,
  snapshot: Snapshot<D>,
  lists: (Partial<ListPlan> & { list: string; remote?: string })[],
): TargetPlan<D> {
  const full = lists.map((l): ListPlan => ({
    remote: l.list,
    add: [],
    remove: [],
    record: [],
    held: [],
    refused: [],
    desired: [],
    ...l,
  }));
  const plan: TargetPlan<D> = { target: adapter.target, lists: full, operations: [], snapshot };
  return { ...plan, operations: adapter.operations?.(snapshot, plan) ?? [] };
}

/** What a change of a test looks like: a name, a reason, a target and list. */
export function change(address: string, over: Partial<Change> = {}): Change {
  return {
    target: 'local',
    list: 'web',
    action: 'added',
    address,
    names: ['www.example.com'],
    reason: 'dns',
    ...over,
  };
}

/** The promise fails with a TargetError of that target, whose message holds `message`. */
export async function rejectsOnTarget(promise: Promise<unknown>, target: string, message: string | RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  expect((err as TargetError).target).toBe(target);
  if (typeof message === 'string') expect((err as Error).message).toContain(message);
  else expect((err as Error).message).toMatch(message);
}
