import type { NotifyEventKind } from '../config/notify.js';
import type { Change } from '../model/change.js';
import type { RunOutcome } from '../model/run.js';
import { isSuccess } from '../resolver/types.js';
import type { SyncResult } from '../sync/engine.js';
import { noticeLine } from '../sync/notices.js';

/** One thing a run has to tell: what, where, and in one line. */
export interface NotifyEvent {
  event: NotifyEventKind | 'test';
  target: string | null;
  list: string | null;
  /** Addresses that entered the list on the target (change). */
  added: string[];
  removed: string[];
  /** DNS names: those behind a change, or those failing (degraded). */
  names: string[];
  message: string;
}

/** What one notify entry is sent for one run: every event of the run it listens to. */
export interface Notification {
  /** The run's id; null for `notify test`. */
  run: number | null;
  time: string;
  events: NotifyEvent[];
}

const event = (
  kind: NotifyEvent['event'],
  over: Partial<NotifyEvent> & { message: string },
): NotifyEvent => ({
  event: kind,
  target: null,
  list: null,
  added: [],
  removed: [],
  names: [],
  ...over,
});

/** `2 added (dns), 1 removed (expired)`. */
function changeWords(changes: Change[]): string {
  const part = (action: Change['action']) => {
    const of = changes.filter((c) => c.action === action);
    if (of.length === 0) return [];
    return [`${of.length} ${action} (${[...new Set(of.map((c) => c.reason))].join(', ')})`];
  };
  return [...part('added'), ...part('removed')].join(', ');
}

/**
 * The events of a finished run: a `change` per target list whose entries the target confirmed, a
 * `failure` per failed target, `degraded` for failing names and for removals held back, and
 * `recovered` when the run is clean and the last run that ran to its end was not.
 */
export function runEvents(result: SyncResult, previous: RunOutcome | undefined): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  for (const t of result.targets) {
    const byList = new Map<string, Change[]>();
    for (const c of t.push?.applied ?? []) byList.set(c.list, [...(byList.get(c.list) ?? []), c]);
    for (const [list, changes] of byList)
      events.push(
        event('change', {
          target: t.target,
          list,
          added: changes.filter((c) => c.action === 'added').map((c) => c.address),
          removed: changes.filter((c) => c.action === 'removed').map((c) => c.address),
          names: [...new Set(changes.flatMap((c) => c.names).filter((n) => n !== 'static'))].sort(),
          message: `${t.target}/${list}: ${changeWords(changes)}`,
        }),
      );
  }
  for (const t of result.targets)
    if (t.error)
      events.push(event('failure', { target: t.target, message: `target ${t.target}: ${t.error}` }));
  const failing = result.lookups.filter((l) => !isSuccess(l.outcome));
  if (failing.length > 0) {
    const names = [...new Set(failing.map((l) => l.name))].sort();
    const what = failing
      .map((l) => `${l.name} ${l.family === 'ipv4' ? 'A' : 'AAAA'} ${l.outcome}`)
      .join(', ');
    events.push(
      event('degraded', {
        names,
        message: `${names.length} name(s) failing, their last good addresses kept: ${what}`,
      }),
    );
  }
  for (const n of result.notices)
    if (n.kind === 'held' && !n.hold.forced)
      events.push(event('degraded', { target: n.target, list: n.list, message: noticeLine(n).text }));
  if (result.exitCode === 0 && (previous === 'failed' || previous === 'degraded'))
    events.push(
      event('recovered', { message: `run ${result.runId} is clean again after a ${previous} run` }),
    );
  return events;
}

/** What `notify test` sends every entry. */
export function testEvent(host: string): NotifyEvent {
  return event('test', { message: `a test notification from dnsfence on ${host}` });
}
