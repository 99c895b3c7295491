import { familyOf, type Family } from '../address.js';
import type { Change } from '../model/change.js';
import type { Applied } from '../store/applied.js';
import { diffList } from './diff.js';
import { explainByConfig, type Before } from './config-reasons.js';
import { applySafety, type SafetyHold } from './safety.js';
import type { DesiredList } from './types.js';

/** A list as the target knows it: the configured name and the name on the firewall. */
export interface ListRef {
  list: string;
  remote: string;
}

/** What a target holds of one list, as read. */
export interface ListState {
  /** Entries dnsfence owns there, normalised. */
  owned: ReadonlySet<string>;
  /** Addresses held by entries dnsfence does not own (hand-made, dynamic): present, never written. */
  foreign?: ReadonlySet<string>;
  /** For targets that record the DNS names behind an entry (RouterOS comments): names per owned address. */
  labels?: ReadonlyMap<string, readonly string[]>;
}

/**
 * What one read of a target found: per list, and whatever else of the target's own that applying
 * a plan needs (entry IDs, the sets that exist, tables still to refresh). A value: an adapter keeps
 * nothing between reading and applying.
 */
export interface Snapshot<D = unknown> {
  lists: ReadonlyMap<string, ListState>;
  detail: D;
  /** What the read noticed that the admin should hear about (a check it could not make). */
  warnings: string[];
}

/**
 * Work a target does beyond adding and removing entries: create a missing set, relabel an entry,
 * remove a duplicate, finish a refresh. `description` is the line `plan` prints and `sync` logs.
 */
export interface Operation {
  kind: string;
  list?: string;
  description: string;
  /** What the adapter needs to perform it (an entry ID, an address and its names). */
  data?: unknown;
}

export interface ListPlan extends ListRef {
  /** Entries to write. */
  add: Change[];
  remove: Change[];
  /** What changed outside dnsfence (found on the target, gone from it) or by the configuration: recorded only. */
  record: Change[];
  /** Removals held back by max_remove. */
  held: Change[];
  hold?: SafetyHold;
  /** The whole content the list must hold on the target (for targets written whole). */
  desired: string[];
  /** Addresses the list must hold that this target cannot (an OPNsense host alias takes no prefixes). */
  refused: string[];
}

/** Everything a sync will do to one target: printed by `plan`, performed by `sync`. */
export interface TargetPlan<D = unknown> {
  target: string;
  lists: ListPlan[];
  operations: Operation[];
  snapshot: Snapshot<D>;
}

/** One list's share of a target plan: what it must hold and what the audit log says it holds. */
export interface ListInput {
  ref: ListRef;
  desired: DesiredList;
  applied: ReadonlyMap<string, Applied>;
  /** Entries the configuration moved or renamed, recorded before the comparison. */
  recorded: Change[];
  /** Entries of a place this list has left: they arrive for reason `config`. */
  moved: ReadonlyMap<string, { place: string }>;
  /** The list as last pushed, when its settings changed since. */
  before?: Before;
  maxRemove: number;
}

export interface TargetInput<D> {
  target: string;
  families: readonly Family[];
  accepts?: (address: string) => boolean;
  snapshot: Snapshot<D>;
  lists: ListInput[];
  force: boolean;
  /** The adapter's own work, from the snapshot and the list changes (relabels are added here). */
  operations?: (snapshot: Snapshot<D>, plan: TargetPlan<D>) => Operation[];
}

/**
 * The plan for one target: per list what to add and remove and why, what changed outside dnsfence,
 * what a safety limit holds back, plus the target's own operations. Pure.
 */
export function planTarget<D>(input: TargetInput<D>): TargetPlan<D> {
  const { target, snapshot } = input;
  const relabels: Operation[] = [];
  const lists = input.lists.map((l): ListPlan => {
    const state = snapshot.lists.get(l.ref.list) ?? { owned: new Set<string>() };
    const diff = diffList({
      target,
      desired: l.desired,
      actual: state.owned,
      applied: l.applied,
      families: input.families,
      ...(input.accepts ? { accepts: input.accepts } : {}),
      ...(state.foreign ? { foreign: state.foreign } : {}),
      ...(state.labels ? { labels: state.labels } : {}),
      familyOf,
    });
    const explained = explainByConfig(diff, l.moved, l.before);
    const verdict = applySafety(explained, l.maxRemove, input.force);
    for (const r of diff.relabel)
      relabels.push({
        kind: 'relabel',
        list: l.ref.list,
        description: `relabel ${r.address} in ${l.ref.remote}: ${(state.labels?.get(r.address) ?? []).join(',') || '-'} → ${r.names.join(',')}`,
        data: r,
      });
    return {
      ...l.ref,
      add: verdict.diff.add,
      remove: verdict.diff.remove,
      record: [...l.recorded, ...verdict.diff.record],
      held: verdict.held,
      ...(verdict.hold ? { hold: verdict.hold } : {}),
      desired: verdict.diff.desired,
      refused: input.accepts ? [...l.desired.entries.keys()].filter((a) => !input.accepts!(a)) : [],
    };
  });
  const plan: TargetPlan<D> = { target, lists, operations: relabels, snapshot };
  return { ...plan, operations: [...relabels, ...(input.operations?.(snapshot, plan) ?? [])] };
}

/** Nothing to write and nothing to record. */
export function isEmpty(plan: TargetPlan): boolean {
  return (
    plan.operations.length === 0 &&
    plan.lists.every((l) => l.add.length === 0 && l.remove.length === 0 && l.record.length === 0)
  );
}

/** The lists with entries to write. */
export function changedLists(plan: TargetPlan): ListPlan[] {
  return plan.lists.filter((l) => l.add.length > 0 || l.remove.length > 0);
}
