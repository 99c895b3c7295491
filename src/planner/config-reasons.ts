import type { Change } from '../model/change.js';
import type { ListDiff } from './diff.js';
import type { DesiredList } from './types.js';

/** A list's settings as last pushed, when they changed since: what it held under them, and what changed. */
export interface Before {
  desired: DesiredList;
  /** `retention 20s → 1h; names +b.example.com` */
  change: string;
}

/**
 * Gives the changes the configuration caused reason `config`: an entry added because the list
 * now lives elsewhere (it was in a place left behind) or because its settings let it in, and an
 * entry removed that the previous settings would have kept.
 */
export function explainByConfig(
  diff: ListDiff,
  moved: ReadonlyMap<string, { place: string }>,
  before: Before | undefined,
): ListDiff {
  const add = diff.add.map((c): Change => {
    if (c.reason !== 'dns' && c.reason !== 'static') return c;
    const from = moved.get(c.address);
    if (from) return { ...c, reason: 'config', detail: `the list moved here from ${from.place}` };
    if (before && !before.desired.entries.has(c.address))
      return { ...c, reason: 'config', detail: `list settings changed: ${before.change}` };
    return c;
  });
  const remove = diff.remove.map((c): Change => {
    if (!before || c.reason === 'config' || c.reason === 'drift') return c;
    if (!before.desired.entries.has(c.address)) return c;
    return {
      ...c,
      reason: 'config',
      detail: `list settings changed: ${before.change}${c.detail ? ` (${c.detail})` : ''}`,
    };
  });
  return { ...diff, add, remove };
}
