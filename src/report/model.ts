import { sortByAddress } from '../address.js';
import type { Config } from '../config/types.js';
import type { AuditEntry } from '../store/audit.js';
import { verifyAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { deliveriesIn } from '../store/notifications.js';
import {
  appliedEntries,
  auditEntriesIn,
  failuresIn,
  learnedIn,
  namesWithoutAddressIn,
  pushesOfRunsIn,
  runsIn,
  storedNames,
  type RunInPeriod,
  targetsFailedIn,
} from '../store/report-queries.js';
import { feedConsumers, type FeedConsumer } from './feeds.js';
import { reportScope, type ReportFilters, type Scope } from './scope.js';

export type { ReportFilters } from './scope.js';

export interface ReportRow {
  at: string;
  target: string;
  list: string;
  action: 'added' | 'removed';
  address: string;
  /** DNS names only: a static entry has none. */
  names: string[];
  /** The entry is (also) one of the list's static entries. */
  static: boolean;
  reason: string;
  detail: string | null;
  runId: number;
  seq: number;
}

/** One configuration hash and the first and last run in the period that used it. */
export interface ConfigSpan {
  hash: string;
  from: string;
  until: string;
}

/** A name a list learned from DNS traffic (the forwarder): when, from which client, through which entry. */
export interface LearnedRow {
  list: string;
  name: string;
  /** `*.zone`, or the configured name its CNAME chain led to. */
  entry: string;
  firstLearned: string;
  client: string;
  lastQueried: string;
  lastClient: string;
}

export interface ListContent {
  target: string;
  list: string;
  addresses: { address: string; names: string[]; static: boolean; since: string }[];
}

export interface ReportSummary {
  runs: number;
  failedRuns: number;
  degradedRuns: number;
  /** The configuration hashes of the period's runs, in order; more than one: it changed. */
  config: ConfigSpan[];
  added: number;
  removed: number;
  namesChanged: string[];
  namesFailed: string[];
  /** Names that got only NXDOMAIN or NODATA in the period: no address in either family. */
  namesWithoutAddress: string[];
  targetsFailed: string[];
  chain: { verified: boolean; entries: number; head: string; problem?: string };
  /** Notifications of the period: how many arrived, and per entry those that did not. */
  notifications: NotificationSummary;
}

export interface NotificationSummary {
  delivered: number;
  failed: { entry: string; count: number; lastAt: string; detail: string | null }[];
}

/** The one model every report format renders: each format is a thin renderer of it, so they cannot drift apart. */
export interface ReportModel {
  generatedAt: string;
  period: { since: string; until: string };
  filters: ReportFilters;
  summary: ReportSummary;
  rows: ReportRow[];
  /** What each target list holds now, as the audit log records it. */
  lists: ListContent[];
  /**
   * The feed targets in scope, and who fetched which of their files in the period, which version
   * each holds, and who stopped. Formats show it when there is a feed target or a consumer.
   */
  feeds: { targets: string[]; consumers: FeedConsumer[] };
  /** Names the lists learned from DNS traffic, known in the period. */
  learned: LearnedRow[];
}

/**
 * The report of a period. `config` tells which names each list has and which lists each target
 * carries (the store alone knows only those that changed something); every filter narrows every
 * part of the report. An unknown target or list is a ConfigError.
 */
export function buildReport(
  db: Db,
  since: Date,
  until: Date,
  filters: ReportFilters,
  now: Date,
  config?: Config,
): ReportModel {
  const s = since.toISOString();
  const u = until.toISOString();
  const scope = reportScope(db, filters, config);
  const failures = failuresIn(db, s, u).filter((f) => scope.name(f.name));
  const rows = auditEntriesIn(db, s, u)
    .map(toRow)
    .filter(
      (r) =>
        scope.target(r.target) &&
        scope.list(r.list) &&
        (!filters.name?.length || r.names.some((n) => filters.name!.includes(n))),
    );
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
      ...runSummary(db, s, u, scope, failures),
      added: rows.filter((r) => r.action === 'added').length,
      removed: rows.filter((r) => r.action === 'removed').length,
      namesChanged: [...changed].sort(),
      namesFailed: [...new Set(failures.map((f) => f.name))].sort(),
      namesWithoutAddress: namesWithoutAddressIn(db, s, u).filter(scope.name),
      targetsFailed: targetsFailedIn(db, s, u).filter(scope.target),
      notifications: notificationSummary(db, s, u),
      chain: {
        verified: verdict.ok,
        entries: verdict.entries,
        head: verdict.head,
        ...(verdict.firstBad ? { problem: `entry ${verdict.firstBad.seq} ${verdict.firstBad.problem}` } : {}),
      },
    },
    rows,
    lists: listContents(db, scope, filters, config),
    feeds: {
      targets: [...(config?.targets.values() ?? [])]
        .filter((t) => t.type === 'feed' && scope.target(t.name))
        .map((t) => t.name),
      consumers: feedConsumers(
        db,
        s,
        u,
        (target, list) => scope.target(target) && (list === null ? !filters.list?.length : scope.list(list)),
      ),
    },
    learned: learnedIn(db, s, u)
      .filter((l) => scope.list(l.list) && scope.name(l.name))
      .map((l) => ({
        list: l.list,
        name: l.name,
        entry: l.entry,
        firstLearned: l.first_learned,
        client: l.client,
        lastQueried: l.last_queried,
        lastClient: l.last_client,
      })),
  };
}

/** Deliveries are per run, not per target or list: filters do not narrow them. */
function notificationSummary(db: Db, since: string, until: string): NotificationSummary {
  const failed = new Map<string, NotificationSummary['failed'][number]>();
  let delivered = 0;
  for (const d of deliveriesIn(db, since, until)) {
    if (d.outcome === 'delivered') {
      delivered += 1;
      continue;
    }
    const f = failed.get(d.entry) ?? { entry: d.entry, count: 0, lastAt: d.at, detail: d.detail };
    failed.set(d.entry, { ...f, count: f.count + 1, lastAt: d.at, detail: d.detail });
  }
  return { delivered, failed: [...failed.values()] };
}

function toRow(e: AuditEntry): ReportRow {
  return {
    at: e.at,
    target: e.target,
    list: e.list,
    action: e.action,
    address: e.address,
    ...storedNames(e.names),
    reason: e.reason,
    detail: e.detail,
    runId: e.run_id,
    seq: e.seq,
  };
}

/**
 * Runs, failed and degraded runs, and the configuration hashes of the period. Narrowed to some
 * targets, a run counts when it pushed to one of them and failed when a push to one of them did;
 * narrowed to some names (those of a list, a target's lists, --name), it was degraded when one of
 * them failed in it (or a push in scope was held back).
 */
function runSummary(
  db: Db,
  since: string,
  until: string,
  scope: Scope,
  failures: { first_at: string; last_at: string }[],
): Pick<ReportSummary, 'runs' | 'failedRuns' | 'degradedRuns' | 'config'> {
  let runs = runsIn(db, since, until);
  let failed = (r: RunInPeriod) => r.outcome === 'failed' || r.outcome === 'interrupted';
  let held = (_r: RunInPeriod) => false;
  if (scope.narrowsTargets) {
    const pushes = new Map<number, string[]>();
    for (const p of pushesOfRunsIn(db, since, until))
      if (scope.target(p.target)) pushes.set(p.run_id, [...(pushes.get(p.run_id) ?? []), p.outcome]);
    runs = runs.filter((r) => pushes.has(r.id));
    failed = (r) => pushes.get(r.id)!.some((o) => o === 'failed' || o === 'partial');
    held = (r) => pushes.get(r.id)!.includes('held');
  }
  // A run records its lookups at its start: a failure interval covering that time failed in it.
  const failing = scope.narrowsNames ? covering(failures) : undefined;
  const degraded = (r: RunInPeriod) =>
    !failed(r) && (held(r) || (failing ? failing(r.started_at) : r.outcome === 'degraded'));
  const config: ConfigSpan[] = [];
  for (const r of runs) {
    const last = config.at(-1);
    if (last?.hash === r.config_hash) last.until = r.started_at;
    else config.push({ hash: r.config_hash, from: r.started_at, until: r.started_at });
  }
  return {
    runs: runs.length,
    failedRuns: runs.filter(failed).length,
    degradedRuns: runs.filter(degraded).length,
    config,
  };
}

/** Whether a time falls inside one of the intervals: merged, then found by binary search. */
function covering(intervals: { first_at: string; last_at: string }[]): (at: string) => boolean {
  const merged: { from: string; to: string }[] = [];
  for (const i of [...intervals].sort((a, b) => (a.first_at < b.first_at ? -1 : 1))) {
    const last = merged.at(-1);
    if (last && i.first_at <= last.to) {
      if (i.last_at > last.to) last.to = i.last_at;
    } else merged.push({ from: i.first_at, to: i.last_at });
  }
  return (at) => {
    let lo = 0;
    let hi = merged.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = merged[mid]!;
      if (at < m.from) hi = mid - 1;
      else if (at > m.to) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

/** Every list on every target in scope, with what the audit log says it holds now (also when empty). */
function listContents(db: Db, scope: Scope, filters: ReportFilters, config?: Config): ListContent[] {
  const contents = new Map<string, ListContent>();
  const content = (target: string, list: string) => {
    const key = `${target}\u0000${list}`;
    let c = contents.get(key);
    if (!c) contents.set(key, (c = { target, list, addresses: [] }));
    return c;
  };
  // Narrowed to names, a list shows their addresses only: one without any is left out, not shown empty.
  if (!filters.name?.length)
    for (const t of config?.targets.values() ?? [])
      for (const list of t.lists.keys()) if (scope.target(t.name) && scope.list(list)) content(t.name, list);
  for (const e of appliedEntries(db)) {
    if (!scope.target(e.target) || !scope.list(e.list)) continue;
    const names = storedNames(e.names);
    if (filters.name?.length && !names.names.some((n) => filters.name!.includes(n))) continue;
    content(e.target, e.list).addresses.push({ address: e.address, ...names, since: e.since });
  }
  return [...contents.values()]
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.list < b.list ? -1 : 1))
    .map((c) => ({ ...c, addresses: sortByAddress(c.addresses, (a) => a.address) }));
}
