import type { Change } from '../model/change.js';
import type { SyncResult } from '../sync/engine.js';

export function changeLine(c: Change): string {
  const sign = c.action === 'added' ? '+' : '-';
  const names = c.names.length > 0 ? c.names.join(',') : '-';
  return `${c.target}  ${c.list}  ${sign} ${c.address}  ${names}  (${c.reason}${c.detail ? `: ${c.detail}` : ''})`;
}

/**
 * Human output of plan/sync: one line per change, nothing when nothing changed (cron mails
 * whatever a job prints). A plan always says what it found.
 */
export function formatSync(result: SyncResult, verbose: boolean): string {
  const lines: string[] = [];
  for (const t of result.targets) {
    for (const c of t.changes) lines.push(changeLine(c));
    for (const c of t.recorded) lines.push(`${changeLine(c)}  [recorded only]`);
    for (const c of t.held) lines.push(`${changeLine(c)}  [held back]`);
    if (result.dryRun && t.changes.length === 0 && t.held.length === 0 && !t.error)
      lines.push(`${t.target}: no changes`);
    if (verbose && !result.dryRun && t.changes.length === 0 && !t.error)
      lines.push(`${t.target}: ${t.outcome}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The --json document for plan/sync. */
export function syncJson(result: SyncResult): unknown {
  return {
    run_id: result.runId ?? null,
    dry_run: result.dryRun,
    started_at: result.startedAt,
    finished_at: result.finishedAt,
    exit_code: result.exitCode,
    lookups: result.lookups,
    lists: result.lists.map((l) => ({
      list: l.list,
      addresses: [...l.entries.values()],
      excluded: [...l.excluded.values()],
      stale_names: l.staleNames,
      rejected: l.rejected,
    })),
    targets: result.targets,
  };
}
