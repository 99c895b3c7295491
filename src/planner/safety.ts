import type { Change } from '../model/change.js';
import type { ListDiff } from './diff.js';

export interface SafetyVerdict {
  diff: ListDiff;
  /** Removals held back by max_remove (not applied). */
  held: Change[];
  message?: string;
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
  const message =
    `${diff.target}/${diff.list}: would remove ${count} of ${diff.ownedBefore} entries ` +
    `(max_remove ${maxRemove} allows ${limit})`;
  if (force) {
    const forced = diff.remove.map((c) => ({
      ...c,
      reason: 'forced' as const,
      detail: `${c.reason}${c.detail ? `: ${c.detail}` : ''}; over max_remove, applied with --force`,
    }));
    return { diff: { ...diff, remove: forced }, held: [], message: `${message}; applied with --force` };
  }
  return {
    diff: { ...diff, remove: [], desired: [...diff.desired, ...diff.remove.map((c) => c.address)] },
    held: diff.remove,
    message: `${message}; held back (use --force to apply)`,
  };
}
