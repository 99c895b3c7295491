import { sortByAddress, type Family } from '../address.js';
import type { Change, Reason } from '../model/change.js';
import type { Applied } from '../store/applied.js';
import type { DesiredList } from './types.js';

export interface ListDiff {
  target: string;
  list: string;
  /** Entries to write to the firewall. */
  add: Change[];
  remove: Change[];
  /**
   * Entries whose presence changed outside dnsfence and needs only recording: found on the
   * target although the audit log did not know them, or gone from it while the log had them.
   */
  record: Change[];
  /** Entries that stay but whose recorded names differ from the names producing them now. */
  relabel: { address: string; names: string[] }[];
  /** The full content the list must hold on this target (for whole-object targets). */
  desired: string[];
  /** Owned entries on the target before the change. */
  ownedBefore: number;
}

export interface DiffInput {
  target: string;
  desired: DesiredList;
  /** Owned entries the target holds now (normalised). */
  actual: ReadonlySet<string>;
  /** What the audit log says the target list holds. */
  applied: ReadonlyMap<string, Applied>;
  /** Families the target can hold. */
  families: readonly Family[];
  /** False for entries the target cannot hold at all (an OPNsense host alias takes no prefixes). */
  accepts?: (address: string) => boolean;
  /** Addresses held by entries dnsfence does not own: present, never written, never recorded. */
  foreign?: ReadonlySet<string>;
  /** Names the target records per owned address, when it records any. */
  labels?: ReadonlyMap<string, readonly string[]>;
  familyOf: (address: string) => Family;
}

/** Why an owned entry that the list must not hold leaves it: its names, the reason, in words. */
function whyRemoved(
  address: string,
  desired: DesiredList,
  known: Applied | undefined,
): [names: string[], reason: Reason, detail: string] {
  const why = desired.excluded.get(address);
  if (!known) return [why?.names ?? [], 'drift', 'on the target, not placed by dnsfence'];
  if (why) return [why.names, why.reason, why.detail];
  // Its names are still configured, but none answered it within what the desired set looked back
  // over (retention, or stale_limit while failing): it expired long ago, unpushed.
  if (known.names.some((n) => desired.names.has(n)))
    return [known.names, 'expired', 'not answered within retention'];
  return [known.names, 'config', 'no longer produced by any configured name or static entry'];
}

/** Reconcile, not replay: compares the desired set with what the target really holds. */
export function diffList(input: DiffInput): ListDiff {
  const { target, desired, actual, applied } = input;
  const list = desired.list;
  const families = new Set(input.families);
  const holds = (address: string) => input.accepts?.(address) ?? true;
  const want = [
    ...desired.entries.values(),
    // What a prefix covers, where the target cannot hold the prefix.
    ...[...desired.covered.values()].filter((c) => !holds(c.by)).map((c) => c.entry),
  ].filter((e) => families.has(e.family) && holds(e.address));
  const wanted = new Set(want.map((e) => e.address));
  const add: Change[] = [];
  const remove: Change[] = [];
  const record: Change[] = [];

  const relabel: { address: string; names: string[] }[] = [];
  for (const e of want) {
    const onTarget = actual.has(e.address);
    const known = applied.has(e.address);
    const label = input.labels?.get(e.address);
    if (onTarget && label && label.join(',') !== e.names.join(','))
      relabel.push({ address: e.address, names: e.names });
    if (onTarget && known) continue;
    if (!onTarget && input.foreign?.has(e.address)) continue;
    if (onTarget) {
      record.push({
        target,
        list,
        action: 'added',
        address: e.address,
        names: e.names,
        reason: 'drift',
        detail: 'found on the target; not in the audit log',
      });
      continue;
    }
    const reason = known ? 'drift' : e.source === 'static' ? 'static' : 'dns';
    const detail = known
      ? 'missing on the target; restored'
      : e.source === 'stale'
        ? 'kept from the last good answer'
        : undefined;
    add.push({
      target,
      list,
      action: 'added',
      address: e.address,
      names: e.names,
      reason,
      ...(detail ? { detail } : {}),
    });
  }

  for (const address of actual) {
    if (wanted.has(address)) continue;
    if (!families.has(input.familyOf(address))) continue;
    const [names, reason, detail] = whyRemoved(address, desired, applied.get(address));
    remove.push({ target, list, action: 'removed', address, names, reason, detail });
  }

  for (const [address, known] of applied) {
    if (actual.has(address) || wanted.has(address)) continue;
    record.push({
      target,
      list,
      action: 'removed',
      address,
      names: known.names,
      reason: 'drift',
      detail: 'removed on the target outside dnsfence',
    });
  }

  const byAddress = (changes: Change[]) => sortByAddress(changes, (c) => c.address);
  return {
    target,
    list,
    add: byAddress(add),
    remove: byAddress(remove),
    record: byAddress(record),
    relabel,
    desired: want.map((e) => e.address),
    ownedBefore: actual.size,
  };
}
