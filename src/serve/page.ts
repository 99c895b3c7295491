import type { FeedConsumer } from '../report/feeds.js';
import { consumerName, heldVersion, pollingState } from '../report/feeds.js';
import type { NameStatus, StatusData } from '../sync/status.js';
import { formatDuration } from '../time.js';

/** A feed file `serve` answers, as the page lists it. */
export interface ServedFile {
  url: string;
  addresses: number;
  etag: string;
  published: string;
}

export interface PageChange {
  at: string;
  target: string;
  list: string;
  action: string;
  address: string;
  names: string;
  reason: string;
}

/** Everything the status page shows: the data of `status --json`, and what only `serve` knows. */
export interface PageModel {
  generatedAt: string;
  status: StatusData;
  changes: PageChange[];
  feeds: ServedFile[];
  consumers: FeedConsumer[];
  /** Set when the database could not be read: the page is then the last one that could be made. */
  fault?: { message: string; since: string };
  refreshSeconds: number;
}

const esc = (v: string) =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const time = (iso: string | null | undefined) =>
  iso ? esc(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')) : '-';

/** A table that becomes one block per row, each cell labelled, on a narrow screen. */
function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="quiet">${esc(empty)}</p>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((cell, i) => `<td data-label="${esc(headers[i] ?? '')}">${cell}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A name the list learned from DNS traffic (the forwarder): when and from which client. */
function learned(n: NameStatus): string {
  if (!n.learned) return '';
  return ` <span class="tag">learned ${time(n.learned.first_learned)} from ${esc(n.learned.client)}</span>`;
}

function lists(model: PageModel): string {
  if (model.status.lists.length === 0) return '<p class="quiet">No list is configured.</p>';
  return model.status.lists
    .map((l) => {
      const names = l.names
        .map((n) => {
          const outcomes = n.lookups
            .map(
              (x) =>
                `${x.family === 'ipv4' ? 'A' : 'AAAA'} ${esc(x.outcome)}${x.failing_since ? ` since ${time(x.failing_since)}` : ''}`,
            )
            .join(', ');
          const failing = n.lookups.some((x) => x.failing_since);
          return `<li class="${failing ? 'bad' : ''}"><span class="name">${esc(n.name)}</span>${learned(n)} <small>${outcomes}</small></li>`;
        })
        .join('\n');
      const addresses = l.addresses.map((a) => `<code>${esc(a)}</code>`).join(' ');
      return `<section class="card" id="list-${esc(l.list)}">
<h3>${esc(l.list)} <small>${l.addresses.length} address${l.addresses.length === 1 ? '' : 'es'}${l.failing.length ? `, <span class="bad">failing: ${esc(l.failing.join(', '))}</span>` : ''}</small></h3>
${names ? `<ul class="names">\n${names}\n</ul>` : '<p class="quiet">No names.</p>'}
<p class="addresses">${addresses || '<span class="quiet">empty</span>'}</p>
</section>`;
    })
    .join('\n');
}

function targets(model: PageModel): string {
  return table(
    ['Target', 'Type', 'Last push', 'Result', 'Last success', 'Entries'],
    model.status.targets.map((t) => {
      const p = t.last_push;
      const result = p
        ? `<span class="${p.outcome === 'failed' || p.outcome === 'partial' ? 'bad' : 'ok'}">${esc(p.outcome)}</span> +${p.added} −${p.removed}${p.detail ? `<br><small>${esc(p.detail)}</small>` : ''}`
        : 'never pushed';
      return [
        esc(t.target),
        esc(t.type),
        time(p?.at),
        result,
        time(t.last_success),
        esc(
          Object.entries(t.entries)
            .map(([list, n]) => `${list} ${n}`)
            .join(', ') || '-',
        ),
      ];
    }),
    'No target is configured.',
  );
}

function feeds(model: PageModel): string {
  return table(
    ['Feed', 'Addresses', 'Version (ETag)', 'Published'],
    model.feeds.map((f) => [
      `<a href="${esc(f.url)}">${esc(f.url)}</a>`,
      String(f.addresses),
      `<code>${esc(f.etag)}</code>`,
      time(f.published),
    ]),
    'No feed is published yet.',
  );
}

function consumers(model: PageModel): string {
  return table(
    ['Consumer', 'Feed', 'Holds (ETag)', 'Last fetch', 'Polling'],
    model.consumers.map((c) => [
      esc(consumerName(c)),
      esc(`${c.target}/${c.file}`),
      `<code>${esc(heldVersion(c))}</code>`,
      `${time(c.last)} (${c.lastStatus})`,
      `<span class="${c.stopped || c.refused ? 'bad' : ''}">${esc(pollingState(c, formatDuration))}</span>`,
    ]),
    'No firewall has fetched a feed in the last 7 days.',
  );
}

function changes(model: PageModel): string {
  return table(
    ['Time (UTC)', 'Target', 'List', 'Change', 'Names', 'Reason'],
    model.changes.map((c) => [
      time(c.at),
      esc(c.target),
      esc(c.list),
      `<span class="${c.action === 'added' ? 'ok' : 'bad'}">${c.action === 'added' ? '+' : '−'}</span> <code>${esc(c.address)}</code>`,
      esc(c.names || '-'),
      esc(c.reason),
    ]),
    'No change recorded yet.',
  );
}

/**
 * The status page: one HTML document, no script and nothing loaded from anywhere (the server
 * forbids it with its Content-Security-Policy), refreshing itself. Long names and addresses break
 * anywhere and tables turn into labelled blocks below 640 px, so a phone never scrolls sideways.
 */
export function renderPage(model: PageModel): string {
  const run = model.status.last_run;
  const lastRun = run
    ? `Last run #${run.id} (${esc(run.command)}) ${time(run.started_at)}: <span class="${run.outcome === 'ok' ? 'ok' : 'bad'}">${esc(run.outcome)}</span>${run.summary ? ` — ${esc(run.summary)}` : ''}`
    : 'No run yet.';
  const fault = model.fault
    ? `<p class="fault">The database cannot be read since ${time(model.fault.since)} (${esc(model.fault.message)}). This is the page as it was at ${time(model.generatedAt)}; the feeds are answered with the content read last.</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${model.refreshSeconds}">
<title>dnsfence status</title>
<style>
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:.75rem;max-width:72rem;color:#111;background:#fff}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:0 0 .3em}
small,.quiet{color:#555}code{font:13px/1.3 ui-monospace,monospace}
p,li,td,h3,code{overflow-wrap:anywhere}
.ok{color:#075}.bad{color:#a10;font-weight:600}.tag{background:#eef;border-radius:3px;padding:0 .3em;font-size:.85em}
.fault{background:#fee;border:1px solid #d99;padding:.5em}
.card{border:1px solid #ddd;border-radius:4px;padding:.6em;margin:.6em 0}
.names{margin:.2em 0;padding-left:1.2em}.addresses code{display:inline-block;margin:0 .5em .2em 0}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.25em .4em;text-align:left;vertical-align:top}th{background:#f4f4f4}
@media (max-width:640px){
table,thead,tbody,tr,td{display:block}thead{display:none}tr{border:1px solid #ddd;margin:.5em 0}td{border:0;padding:.1em .4em}
td::before{content:attr(data-label) ": ";color:#555}
}
</style></head><body>
<h1>dnsfence status</h1>
<p><small>${time(model.generatedAt)} · refreshes every ${model.refreshSeconds} s · ${esc(model.status.database)}</small></p>
${fault}
<p>${lastRun}</p>
<h2>Lists</h2>
${lists(model)}
<h2>Targets</h2>
${targets(model)}
<h2>Feeds</h2>
${feeds(model)}
<h2>Feed consumers</h2>
${consumers(model)}
<h2>Latest changes</h2>
${changes(model)}
${
  model.status.leftovers.length > 0
    ? `<h2>Left behind</h2>\n${table(
        ['Place', 'Target / list', 'Entries', 'Since', 'Remove it with'],
        model.status.leftovers.map((l) => [
          esc(l.place),
          esc(`${l.target} / ${l.list}`),
          String(l.entries),
          time(l.since),
          `<code>${esc(l.removal)}</code>`,
        ]),
        '',
      )}`
    : ''
}
</body></html>
`;
}
