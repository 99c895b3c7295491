import { changeLine, type Change } from '../model/change.js';
import type { ListPlan } from '../planner/target.js';
import type { SyncResult, TargetOutcome } from './engine.js';

/**
 * Human output of plan and sync: one line per change and per operation, nothing when nothing
 * changed (cron mails whatever a job prints). A preview prints its plan and always says what it
 * found; a sync prints what the targets confirmed.
 */
export function syncLines(result: SyncResult, verbose: boolean): string[] {
  return result.targets.flatMap((t) => (result.preview ? planLines(t) : pushLines(t, verbose)));
}

function planLines(t: TargetOutcome): string[] {
  if (!t.plan) return [];
  const lines: string[] = [];
  for (const l of t.plan.lists) {
    lines.push(...[...l.add, ...l.remove].map(changeLine));
    lines.push(...l.record.map((c) => `${changeLine(c)}  [recorded only]`));
    lines.push(...l.held.map((c) => `${changeLine(c)}  [held back]`));
  }
  lines.push(...t.plan.operations.map((o) => `${t.target}  ${o.description}`));
  return lines.length > 0 ? lines : [`${t.target}: no changes`];
}

function pushLines(t: TargetOutcome, verbose: boolean): string[] {
  if (!t.plan || !t.push) return [];
  const lines = t.push.applied.map(changeLine);
  for (const l of t.plan.lists) {
    lines.push(...l.record.map((c) => `${changeLine(c)}  [recorded only]`));
    lines.push(...l.held.map((c) => `${changeLine(c)}  [held back]`));
  }
  lines.push(...t.push.done.map((o) => `${t.target}  ${o.description}`));
  if (verbose && lines.length === 0 && !t.error) lines.push(`${t.target}: ${t.push.outcome}`);
  return lines;
}

/** The --json document for plan and sync: the plan of every target, and in a sync what each confirmed. */
export function syncJson(result: SyncResult): unknown {
  return {
    run_id: result.runId ?? null,
    preview: result.preview,
    started_at: result.startedAt,
    finished_at: result.finishedAt,
    exit_code: result.exitCode,
    lookups: result.lookups,
    lists: result.lists.map((l) => ({
      list: l.list,
      addresses: [...l.entries.values()].map(({ names, source, ...e }) => ({
        ...e,
        // Names in JSON are DNS names only: a static entry says so with a field of its own.
        names: source === 'static' ? [] : names,
        source,
      })),
      excluded: [...l.excluded.values()],
      stale_names: l.staleNames,
      rejected: l.rejected,
    })),
    targets: result.targets.map((t) => ({
      target: t.target,
      type: t.type,
      ...(t.plan
        ? {
            plan: {
              lists: t.plan.lists.map(jsonList),
              operations: t.plan.operations.map(({ kind, list, description }) => ({
                kind,
                list,
                description,
              })),
            },
          }
        : {}),
      ...(t.push
        ? {
            push: {
              outcome: t.push.outcome,
              applied: t.push.applied.map(jsonChange),
              done: t.push.done.map(({ kind, list, description }) => ({ kind, list, description })),
              messages: t.push.messages,
            },
          }
        : {}),
      ...(t.error ? { error: t.error } : {}),
    })),
    notices: result.notices,
  };
}

/** Names in JSON are DNS names only: the audit log's `static` becomes a field of its own. */
function jsonChange(c: Change): unknown {
  return c.names.length === 1 && c.names[0] === 'static' ? { ...c, names: [], static: true } : c;
}

function jsonList(l: ListPlan): unknown {
  return {
    ...l,
    add: l.add.map(jsonChange),
    remove: l.remove.map(jsonChange),
    record: l.record.map(jsonChange),
    held: l.held.map(jsonChange),
  };
}
