import { renderHtml, renderMarkdown } from './markup.js';
import type { ReportModel } from './model.js';

export type ReportFormat = 'text' | 'md' | 'csv' | 'json' | 'html';
export const REPORT_FORMATS: ReportFormat[] = ['text', 'md', 'csv', 'json', 'html'];

export function renderReport(model: ReportModel, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(model, null, 2)}\n`;
    case 'csv':
      return renderCsv(model);
    case 'text':
      return renderText(model);
    case 'md':
      return renderMarkdown(model);
    case 'html':
      return renderHtml(model);
  }
}

const CSV_COLUMNS = [
  'time',
  'target',
  'list',
  'action',
  'address',
  'names',
  'reason',
  'detail',
  'run_id',
  'seq',
];

/** RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break. */
function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderCsv(model: ReportModel): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of model.rows) {
    lines.push(
      [r.at, r.target, r.list, r.action, r.address, r.names.join(' '), r.reason, r.detail, r.runId, r.seq]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd(),
  );
}

function renderText(model: ReportModel): string {
  const s = model.summary;
  const out: string[] = [];
  out.push(`dnsfence change report ${model.period.since} .. ${model.period.until}`);
  out.push('');
  out.push(`runs            ${s.runs} (${s.failedRuns} failed)`);
  out.push(`changes         ${s.added} added, ${s.removed} removed`);
  out.push(`names changed   ${s.namesChanged.join(', ') || '-'}`);
  out.push(`names failed    ${s.namesFailed.join(', ') || '-'}`);
  out.push(`targets failed  ${s.targetsFailed.join(', ') || '-'}`);
  out.push(
    `audit chain     ${s.chain.verified ? 'verified' : `BROKEN: ${s.chain.problem ?? ''}`} (${s.chain.entries} entries, head ${s.chain.head.slice(0, 16)}…)`,
  );
  out.push('');
  if (model.rows.length === 0) {
    out.push('No address entered or left a list in this period.');
  } else {
    const header = ['time (UTC)', 'target', 'list', 'action', 'address', 'reason', 'names'];
    const body = model.rows.map((r) => [
      r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.target,
      r.list,
      r.action === 'added' ? '+ added' : '- removed',
      r.address,
      r.reason,
      r.names.join(',') || '-',
    ]);
    out.push(...table([header, ...body]));
  }
  return `${out.join('\n')}\n`;
}
