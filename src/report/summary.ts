import type {
  ConfigSpan,
  LearnedRow,
  ListContent,
  NotificationSummary,
  ReportModel,
  ReportRow,
} from './model.js';
import { consumerName } from './feeds.js';

/** One line of the report's summary, worded once for every format that shows a summary. */
export interface SummaryItem {
  label: string;
  value: string;
  status?: 'ok' | 'bad';
}

/** `2026-11-28T05:00:00.000Z` → `2026-11-28 05:00:00Z`. */
export const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

const joined = (values: string[]) => values.join(', ') || '-';

/** A row's or entry's names as shown to people: its DNS names, and `static` for a static entry. */
export function shownNames(entry: Pick<ReportRow, 'names' | 'static'>, separator = ', '): string {
  return [...entry.names, ...(entry.static ? ['static'] : [])].join(separator) || '-';
}

function configValue(spans: ConfigSpan[], hash: (h: string) => string): string {
  if (spans.length === 0) return '- (no run in this period)';
  if (spans.length === 1) return hash((spans[0] as ConfigSpan).hash);
  const parts = spans.map((s, i) => {
    if (i === 0) return `${hash(s.hash)} (until ${shortTime(s.until)})`;
    if (i === spans.length - 1) return `${hash(s.hash)} (from ${shortTime(s.from)})`;
    return `${hash(s.hash)} (from ${shortTime(s.from)} until ${shortTime(s.until)})`;
  });
  return `changed in the period: ${parts.join(', ')}`;
}

/** Hashes in full for documents (md, html); shortened for the terminal. */
export function summaryItems(model: ReportModel, hashes: 'full' | 'short'): SummaryItem[] {
  const s = model.summary;
  const hash = (h: string) => (hashes === 'full' ? h : `${h.slice(0, 16)}…`);
  const f = model.filters;
  const filters = [
    ...(f.target ?? []).map((t) => `target ${t}`),
    ...(f.list ?? []).map((l) => `list ${l}`),
    ...(f.name ?? []).map((n) => `name ${n}`),
  ];
  return [
    ...(filters.length > 0 ? [{ label: 'filters', value: filters.join(', ') }] : []),
    { label: 'runs', value: `${s.runs}, ${s.failedRuns} failed, ${s.degradedRuns} degraded` },
    { label: 'config hash', value: configValue(s.config, hash) },
    { label: 'changes', value: `${s.added} added, ${s.removed} removed` },
    { label: 'names changed', value: joined(s.namesChanged) },
    { label: 'names failed', value: joined(s.namesFailed) },
    { label: 'names without address', value: joined(s.namesWithoutAddress) },
    ...(model.learned.length > 0
      ? [{ label: 'names learned', value: joined([...new Set(model.learned.map((l) => l.name))]) }]
      : []),
    { label: 'targets failed', value: joined(s.targetsFailed) },
    ...notificationItems(s.notifications),
    ...(showsFeeds(model) ? [feedsItem(model)] : []),
    {
      label: 'audit chain',
      value: `${s.chain.verified ? 'verified' : `BROKEN: ${s.chain.problem ?? ''}`} (${s.chain.entries} entries, head ${hash(s.chain.head)})`,
      status: s.chain.verified ? 'ok' : 'bad',
    },
  ];
}

/** Only when the period sent any: most configurations notify nobody. */
function notificationItems(n: NotificationSummary): SummaryItem[] {
  const failed = n.failed.reduce((sum, f) => sum + f.count, 0);
  if (n.delivered + failed === 0) return [];
  const which = n.failed.map(
    (f) => `${f.entry}: ${f.count} (last ${shortTime(f.lastAt)}${f.detail ? `: ${f.detail}` : ''})`,
  );
  return [
    {
      label: 'notifications',
      value: `${n.delivered} delivered, ${failed} failed${which.length > 0 ? `; failed: ${which.join('; ')}` : ''}`,
      ...(failed > 0 ? { status: 'bad' as const } : {}),
    },
  ];
}

export const NO_CHANGES = 'No address entered or left a list in this period.';

/** `local/web: 3 addresses`, `local/web: empty`. */
export function listHeading(c: ListContent): string {
  const n = c.addresses.length;
  return `${c.target}/${c.list}: ${n === 0 ? 'empty' : `${n} address${n === 1 ? '' : 'es'}`}`;
}

export const LISTS_TITLE = 'Lists now, as the audit log records them';

/** `3 consumers, 1 STOPPED: 192.0.2.10 (user fw1) on feeds/web.txt`: said when feeds are in the report. */
function feedsItem(model: ReportModel): SummaryItem {
  const { consumers } = model.feeds;
  const named = (cs: typeof consumers) =>
    cs.map((c) => `${consumerName(c)} on ${c.target}/${c.file}`).join(', ');
  const stopped = consumers.filter((c) => c.stopped);
  const refused = consumers.filter((c) => c.refused);
  const parts = [`${consumers.length} consumer${consumers.length === 1 ? '' : 's'}`];
  if (stopped.length > 0) parts.push(`${stopped.length} STOPPED: ${named(stopped)}`);
  if (refused.length > 0) parts.push(`${refused.length} REFUSED at the last fetch: ${named(refused)}`);
  if (stopped.length + refused.length === 0) parts.push('none stopped');
  return {
    label: 'feed consumers',
    value: parts.join(', '),
    ...(stopped.length + refused.length > 0 ? { status: 'bad' as const } : {}),
  };
}

export const FEEDS_TITLE = 'Feed consumers: who fetched which version last';
export const NO_FEEDS = 'No feed was fetched in this period.';

/** A report says who polls feeds when it covers a feed target, or someone fetched one. */
export const showsFeeds = (model: ReportModel) =>
  model.feeds.targets.length > 0 || model.feeds.consumers.length > 0;
export const LEARNED_TITLE = 'Names learned from DNS traffic (the forwarder)';

/** One learned name's row, the same words in every format. */
export function learnedCells(l: LearnedRow): string[] {
  return [
    l.list,
    l.name,
    `learned ${shortTime(l.firstLearned)} from ${l.client}`,
    `through ${l.entry}`,
    `last asked ${shortTime(l.lastQueried)} by ${l.lastClient}`,
  ];
}
