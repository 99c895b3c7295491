import type { Change } from '../model/change.js';
import type { ListDiff } from './diff.js';

/** A list whose removals went over max_remove: how many, of how many, and whether --force let them through. */
export interface SafetyHold {
  count: number;
  owned: number;
  maxRemove: number;
  /** The most one sync may remove from this list. */
  limit: number;
  forced: boolean;
}

export interface SafetyVerdict {
  diff: ListDiff;
  /** Removals held back by max_remove (not applied). */
  held: Change[];
  hold?: SafetyHold;
}

/**
 * A sync that would remove more than `maxRemove` of a list's owned entries on a target holds
 * those removals back (exit 3) unless forced. A single removal always passes: otherwise any
 * list of one or two entries could never follow a DNS change. Additions are never held: they
 * only open what DNS and the configuration ask for.
 */
export function applySafety(diff: ListDiff, maxRemove: number, force: boolean): SafetyVerdict {
  const count = diff.remove.length;
  const limit = Math.max(1, Math.floor(maxRemove * diff.ownedBefore));
  if (count <= limit) return { diff, held: [] };
  const hold: SafetyHold = { count, owned: diff.ownedBefore, maxRemove, limit, forced: force };
  if (force) {
    const forced = diff.remove.map((c) => ({
      ...c,
      reason: 'forced' as const,
      detail: `${c.reason}${c.detail ? `: ${c.detail}` : ''}; over max_remove, applied with --force`,
    }));
    return { diff: { ...diff, remove: forced }, held: [], hold };
  }
  return {
    diff: { ...diff, remove: [], desired: [...diff.desired, ...diff.remove.map((c) => c.address)] },
    held: diff.remove,
    hold,
  };
}
