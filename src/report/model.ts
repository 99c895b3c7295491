import type { AuditEntry } from '../store/audit.js';
import { verifyAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';

export interface ReportFilters {
  target?: string[];
  list?: string[];
  name?: string[];
}

export interface ReportRow {
  at: string;
  target: string;
  list: string;
  action: 'added' | 'removed';
  address: string;
  names: string[];
  reason: string;
  detail: string | null;
  runId: number;
  seq: number;
}

export interface ReportSummary {
  runs: number;
  failedRuns: number;
  added: number;
  removed: number;
  namesChanged: string[];
  namesFailed: string[];
  targetsFailed: string[];
  chain: { verified: boolean; entries: number; head: string; problem?: string };
}

/** The one model every report format renders (STYLE.md: formatters must not drift apart). */
export interface ReportModel {
  generatedAt: string;
  period: { since: string; until: string };
  filters: ReportFilters;
  summary: ReportSummary;
  rows: ReportRow[];
}

export function buildReport(
  db: Db,
  since: Date,
  until: Date,
  filters: ReportFilters,
  now: Date,
): ReportModel {
  const s = since.toISOString();
  const u = until.toISOString();
  const entries = db
    .prepare('SELECT * FROM audit WHERE at >= ? AND at <= ? ORDER BY seq')
    .all(s, u) as AuditEntry[];
  const match = (value: string, wanted: string[] | undefined) =>
    !wanted || wanted.length === 0 || wanted.includes(value);
  const rows: ReportRow[] = entries
    .map((e) => ({
      at: e.at,
      target: e.target,
      list: e.list,
      action: e.action,
      address: e.address,
      names: e.names === '' ? [] : e.names.split(','),
      reason: e.reason,
      detail: e.detail,
      runId: e.run_id,
      seq: e.seq,
    }))
    .filter(
      (r) =>
        match(r.target, filters.target) &&
        match(r.list, filters.list) &&
        (!filters.name || filters.name.length === 0 || r.names.some((n) => filters.name!.includes(n))),
    );
  const runs = db.prepare('SELECT outcome FROM runs WHERE started_at >= ? AND started_at <= ?').all(s, u) as {
    outcome: string;
  }[];
  const namesFailed = (
    db
      .prepare('SELECT DISTINCT name FROM failures WHERE last_at >= ? AND first_at <= ? ORDER BY name')
      .all(s, u) as { name: string }[]
  )
    .map((r) => r.name)
    .filter((n) => !filters.name || filters.name.length === 0 || filters.name.includes(n));
  const targetsFailed = (
    db
      .prepare(
        "SELECT DISTINCT target FROM pushes WHERE at >= ? AND at <= ? AND outcome IN ('failed', 'partial') ORDER BY target",
      )
      .all(s, u) as { target: string }[]
  )
    .map((r) => r.target)
    .filter((t) => !filters.target || filters.target.length === 0 || filters.target.includes(t));
  const changed = new Set<string>();
  for (const r of rows)
    if (r.reason === 'dns' || r.reason === 'expired' || r.reason === 'evicted')
      r.names.forEach((n) => changed.add(n));
  const verdict = verifyAudit(db);
  return {
    generatedAt: now.toISOString(),
    period: { since: s, until: u },
    filters,
    summary: {
      runs: runs.length,
      failedRuns: runs.filter((r) => r.outcome === 'failed' || r.outcome === 'interrupted').length,
      added: rows.filter((r) => r.action === 'added').length,
      removed: rows.filter((r) => r.action === 'removed').length,
      namesChanged: [...changed].sort(),
      namesFailed,
      targetsFailed,
      chain: {
        verified: verdict.ok,
        entries: verdict.entries,
        head: verdict.head,
        ...(verdict.firstBad ? { problem: `entry ${verdict.firstBad.seq} ${verdict.firstBad.problem}` } : {}),
      },
    },
    rows,
  };
}
