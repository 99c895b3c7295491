import { formatDuration } from '../time.js';
import { consumerName, heldVersion, pollingState } from './feeds.js';
import { renderHtml, renderMarkdown } from './markup.js';
import type { ReportModel } from './model.js';
import {
  FEEDS_TITLE,
  LEARNED_TITLE,
  learnedCells,
  LISTS_TITLE,
  listHeading,
  NO_CHANGES,
  NO_FEEDS,
  shortTime,
  shownNames,
  showsFeeds,
  summaryItems,
} from './summary.js';

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

/** The change rows only, one per address that entered or left a list: the summary is in the other formats. */
function renderCsv(model: ReportModel): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of model.rows) {
    lines.push(
      [
        r.at,
        r.target,
        r.list,
        r.action,
        r.address,
        shownNames(r, ' ').replace(/^-$/, ''),
        r.reason,
        r.detail,
        r.runId,
        r.seq,
      ]
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
  const items = summaryItems(model, 'short');
  const width = Math.max(...items.map((i) => i.label.length)) + 2;
  const out: string[] = [];
  out.push(`dnsfence change report ${model.period.since} .. ${model.period.until}`);
  out.push('');
  for (const i of items) out.push(`${i.label.padEnd(width)}${i.value}`);
  out.push('');
  if (model.rows.length === 0) {
    out.push(NO_CHANGES);
  } else {
    const header = ['time (UTC)', 'target', 'list', 'action', 'address', 'reason', 'names', 'detail'];
    const body = model.rows.map((r) => [
      shortTime(r.at),
      r.target,
      r.list,
      r.action === 'added' ? '+ added' : '- removed',
      r.address,
      r.reason,
      shownNames(r, ','),
      r.detail ?? '',
    ]);
    out.push(...table([header, ...body]));
  }
  out.push('', `${LISTS_TITLE}:`);
  if (model.lists.length === 0) out.push('  no list');
  for (const c of model.lists) {
    out.push(listHeading(c));
    if (c.addresses.length > 0)
      out.push(
        ...table(c.addresses.map((a) => [a.address, shownNames(a, ','), `since ${shortTime(a.since)}`])).map(
          (line) => `  ${line}`,
        ),
      );
  }
  if (model.learned.length > 0)
    out.push('', `${LEARNED_TITLE}:`, ...table(model.learned.map(learnedCells)).map((line) => `  ${line}`));
  if (!showsFeeds(model)) return `${out.join('\n')}\n`;
  out.push('', `${FEEDS_TITLE}:`);
  if (model.feeds.consumers.length === 0) out.push(`  ${NO_FEEDS}`);
  else
    out.push(
      ...table([
        ['consumer', 'feed', 'holds (ETag)', 'last fetch (UTC)', 'polling'],
        ...model.feeds.consumers.map((c) => [
          consumerName(c),
          `${c.target}/${c.file}`,
          heldVersion(c),
          `${shortTime(c.last)} (${c.lastStatus})`,
          pollingState(c, formatDuration),
        ]),
      ]).map((line) => `  ${line}`),
    );
  return `${out.join('\n')}\n`;
}
