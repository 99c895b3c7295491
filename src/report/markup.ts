import { formatDuration } from '../time.js';
import { consumerName, heldVersion, pollingState } from './feeds.js';
import type { ReportModel, ReportRow } from './model.js';
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

/** Markdown: the same summary and tables as the text form, for tickets and wikis. */
export function renderMarkdown(model: ReportModel): string {
  const cell = (v: string) => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [
    `# dnsfence change report`,
    '',
    `Period: ${model.period.since} to ${model.period.until} (UTC). Generated ${model.generatedAt}.`,
    '',
    '| | |',
    '| --- | --- |',
    ...summaryItems(model, 'full').map(
      (i) => `| ${i.label} | ${i.status === 'bad' ? `**${cell(i.value)}**` : cell(i.value)} |`,
    ),
    '',
    '## Changes',
    '',
  ];
  if (model.rows.length === 0) out.push(NO_CHANGES);
  else {
    out.push(
      '| time (UTC) | target | list | action | address | names | reason | run |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of model.rows) {
      out.push(
        `| ${r.at} | ${cell(r.target)} | ${cell(r.list)} | ${r.action} | ${r.address} | ${cell(shownNames(r))} | ${r.reason}${r.detail ? `: ${cell(r.detail)}` : ''} | ${r.runId} |`,
      );
    }
  }
  out.push('', `## ${LISTS_TITLE}`, '');
  if (model.lists.length === 0) out.push('No list.');
  else {
    out.push('| target | list | address | names | since |', '| --- | --- | --- | --- | --- |');
    for (const c of model.lists) {
      if (c.addresses.length === 0) out.push(`| ${cell(c.target)} | ${cell(c.list)} | (empty) | | |`);
      for (const a of c.addresses)
        out.push(
          `| ${cell(c.target)} | ${cell(c.list)} | ${a.address} | ${cell(shownNames(a))} | ${a.since} |`,
        );
    }
  }
  if (model.learned.length > 0) {
    out.push(
      '',
      `## ${LEARNED_TITLE}`,
      '',
      '| list | name | learned | entry | last asked |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const l of model.learned) out.push(`| ${learnedCells(l).map(cell).join(' | ')} |`);
  }
  if (!showsFeeds(model)) return `${out.join('\n')}\n`;
  out.push('', `## ${FEEDS_TITLE}`, '');
  if (model.feeds.consumers.length === 0) out.push(NO_FEEDS);
  else {
    out.push(
      '| consumer | feed | holds (ETag) | last fetch (UTC) | answer | polling |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const c of model.feeds.consumers)
      out.push(
        `| ${cell(consumerName(c))} | ${cell(`${c.target}/${c.file}`)} | ${cell(heldVersion(c))} | ${c.last} | ${c.lastStatus} | ${c.stopped || c.refused ? `**${cell(pollingState(c, formatDuration))}**` : cell(pollingState(c, formatDuration))} |`,
      );
  }
  return `${out.join('\n')}\n`;
}

const esc = (v: string) =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * DNS, target and list names have no spaces to wrap at: they may break after a dot or underscore
 * (and a hyphen, as always), never inside a label; IPv6 addresses after a colon.
 */
const breakable = (v: string) => esc(v).replace(/([_.])/g, '$1<wbr>');
const breakableAddress = (v: string) => esc(v).replace(/:/g, ':<wbr>');

interface DayBar {
  day: string;
  added: number;
  removed: number;
}

function perDay(rows: ReportRow[], since: string, until: string): DayBar[] {
  const days: DayBar[] = [];
  const start = Date.parse(since.slice(0, 10));
  const end = Date.parse(until.slice(0, 10));
  const index = new Map<string, DayBar>();
  for (let t = start; t <= end && days.length < 400; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    const bar = { day, added: 0, removed: 0 };
    days.push(bar);
    index.set(day, bar);
  }
  for (const r of rows) {
    const bar = index.get(r.at.slice(0, 10));
    if (bar) bar[r.action] += 1;
  }
  return days;
}

/** One chart per list (small multiples on a shared scale of days). */
function timelines(model: ReportModel): string {
  const lists = [...new Set(model.rows.map((r) => `${r.target}/${r.list}`))].sort();
  if (lists.length === 0) return '<p>No changes to chart.</p>';
  return lists
    .map(
      (key) =>
        `<h3>${esc(key)}</h3>\n${timeline(
          model,
          model.rows.filter((r) => `${r.target}/${r.list}` === key),
        )}`,
    )
    .join('\n');
}

/** Additions above the axis, removals below, one column per day. Plain SVG: no script, no fonts to load. */
function timeline(model: ReportModel, rows: ReportRow[]): string {
  const days = perDay(rows, model.period.since, model.period.until);
  const width = 760;
  const height = 120;
  const mid = height / 2;
  const max = Math.max(1, ...days.map((d) => Math.max(d.added, d.removed)));
  const step = width / Math.max(1, days.length);
  const bar = Math.max(1, step * 0.7);
  const scale = (mid - 16) / max;
  const parts: string[] = [];
  days.forEach((d, i) => {
    const x = (i * step + (step - bar) / 2).toFixed(1);
    if (d.added)
      parts.push(
        `<rect x="${x}" y="${(mid - d.added * scale).toFixed(1)}" width="${bar.toFixed(1)}" height="${(d.added * scale).toFixed(1)}" class="add"><title>${d.day}: ${d.added} added</title></rect>`,
      );
    if (d.removed)
      parts.push(
        `<rect x="${x}" y="${mid}" width="${bar.toFixed(1)}" height="${(d.removed * scale).toFixed(1)}" class="rm"><title>${d.day}: ${d.removed} removed</title></rect>`,
      );
  });
  const first = days[0]?.day ?? '';
  const last = days.at(-1)?.day ?? '';
  return `<svg viewBox="0 0 ${width} ${height + 16}" role="img" aria-label="additions and removals per day">
<line x1="0" y1="${mid}" x2="${width}" y2="${mid}" class="axis"/>
${parts.join('\n')}
<text x="0" y="${height + 12}">${first}</text><text x="${width}" y="${height + 12}" text-anchor="end">${last}</text>
<text x="2" y="12">+${max}</text><text x="2" y="${height - 4}">−${max}</text>
</svg>`;
}

function summaryTable(model: ReportModel): string {
  const status = { ok: '<span class="ok">verified</span>', bad: '<span class="bad">BROKEN</span>' };
  const rows = summaryItems(model, 'full').map((i) => {
    const label = `${i.label[0]!.toUpperCase()}${i.label.slice(1)}`;
    // The verdict word stands out; the rest of the line is the same text as in the other formats.
    const verdict = /^(verified|BROKEN)/.test(i.value);
    const value = !i.status
      ? esc(i.value)
      : verdict
        ? `${status[i.status]}${esc(i.value.replace(/^(verified|BROKEN)/, ''))}`
        : `<span class="${i.status}">${esc(i.value)}</span>`;
    return `<tr><td>${esc(label)}</td><td class="w">${value}</td></tr>`;
  });
  return `<table class="summary">\n${rows.join('\n')}\n</table>`;
}

function changesTable(model: ReportModel): string {
  if (model.rows.length === 0) return `<p>${NO_CHANGES}</p>`;
  const rows = model.rows.map(
    (r) =>
      `<tr class="${r.action}"><td>${esc(shortTime(r.at))}</td><td>${breakable(r.target)}</td><td>${breakable(r.list)}</td><td>${r.action}</td><td>${breakableAddress(r.address)}</td><td>${breakable(shownNames(r))}</td><td>${esc(r.reason)}${r.detail ? `<br><small>${esc(r.detail)}</small>` : ''}</td><td>${r.runId}</td></tr>`,
  );
  return `<table class="changes"><thead><tr><th>Time (UTC)</th><th>Target</th><th>List</th><th>Action</th><th>Address</th><th>Names</th><th>Reason</th><th>Run</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function listsTable(model: ReportModel): string {
  if (model.lists.length === 0) return '<p>No list.</p>';
  return model.lists
    .map((c) => {
      const rows = c.addresses.map(
        (a) =>
          `<tr><td>${breakableAddress(a.address)}</td><td>${breakable(shownNames(a))}</td><td>${esc(shortTime(a.since))}</td></tr>`,
      );
      return `<h3>${esc(listHeading(c))}</h3>${rows.length === 0 ? '' : `\n<table class="lists"><thead><tr><th>Address</th><th>Names</th><th>Since (UTC)</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`}`;
    })
    .join('\n');
}

function feedsTable(model: ReportModel): string {
  if (model.feeds.consumers.length === 0) return `<p>${NO_FEEDS}</p>`;
  const rows = model.feeds.consumers.map(
    (c) =>
      `<tr><td>${breakable(consumerName(c))}</td><td>${breakable(`${c.target}/${c.file}`)}</td><td class="w">${esc(heldVersion(c))}</td><td>${esc(shortTime(c.last))} (${c.lastStatus})</td><td${c.stopped || c.refused ? ' class="bad"' : ''}>${esc(pollingState(c, formatDuration))}</td></tr>`,
  );
  return `<table class="feeds"><thead><tr><th>Consumer</th><th>Feed</th><th>Holds (ETag)</th><th>Last fetch (UTC)</th><th>Polling</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function learnedTable(model: ReportModel): string {
  if (model.learned.length === 0) return '';
  const rows = model.learned.map(
    (l) =>
      `<tr>${learnedCells(l)
        .map((c, i) => `<td>${i < 2 ? breakable(c) : esc(c)}</td>`)
        .join('')}</tr>`,
  );
  return `<h2>${LEARNED_TITLE}</h2>\n<table class="learned"><thead><tr><th>List</th><th>Name</th><th>Learned</th><th>Entry</th><th>Last asked</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>\n`;
}

/**
 * One self-contained, printable HTML file: no external assets, readable offline. Long names and
 * addresses break between labels and hashes anywhere, so that the page never scrolls sideways
 * (800 px and up).
 */
export function renderHtml(model: ReportModel): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dnsfence change report ${esc(model.period.since.slice(0, 10))} – ${esc(model.period.until.slice(0, 10))}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:1.4em}h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
.w{overflow-wrap:anywhere}
th{background:#eee}.summary td:first-child{font-weight:600;width:11em}tr.added td:nth-child(4){color:#075}tr.removed td:nth-child(4){color:#a10}
.ok{color:#075;font-weight:600}.bad{color:#a10;font-weight:600}svg{width:100%;max-width:760px;height:auto;margin:1em 0}
svg .add{fill:#2a8}svg .rm{fill:#d54}svg .axis{stroke:#888}svg text{font-size:10px;fill:#444}
@media print{body{margin:0}tr{page-break-inside:avoid}}
</style></head><body>
<h1>dnsfence change report</h1>
<p>Period ${esc(model.period.since)} to ${esc(model.period.until)} (UTC). Generated ${esc(model.generatedAt)}.</p>
${summaryTable(model)}
<h2>Additions and removals per day, per target and list</h2>
${timelines(model)}
<h2>Changes</h2>
${changesTable(model)}
<h2>${LISTS_TITLE}</h2>
${listsTable(model)}
${learnedTable(model)}${showsFeeds(model) ? `<h2>${FEEDS_TITLE}</h2>\n${feedsTable(model)}\n` : ''}</body></html>
`;
}
