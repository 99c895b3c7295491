import type { Address } from '../address.js';
import type { Config } from '../config/types.js';
import { feedConsumers } from '../report/feeds.js';
import { metricWriter, renderMetrics, timestampSeconds } from '../report/metrics.js';
import { latestAuditEntries } from '../store/report-queries.js';
import { lastFinishedRun } from '../store/runs.js';
import { buildStatus } from '../sync/status.js';
import { formatDuration, type Clock } from '../time.js';
import type { FeedCounters } from './counters.js';
import type { FeedRoute } from './feeds.js';
import { renderPage, type PageModel } from './page.js';
import type { Published } from './published.js';
import type { DatabaseReader } from './reader.js';
import type { Users } from './users.js';

/** What a request is answered with. */
export interface Answer {
  status: number;
  headers?: Readonly<Record<string, string>>;
  /** The headers are all there are, Content-Length included: sent as they are. */
  complete?: true;
  body?: string | Buffer;
  /** The version of a feed file the client was sent or told it holds. */
  etag?: string;
}

/** What the current configuration makes of serve: reloaded whole on SIGHUP. */
export interface ServeState {
  config: Config;
  users: Users | undefined;
  clients: Address[];
  routes: Map<string, FeedRoute>;
  healthyWithinMs: number;
}

export interface AnswerContext {
  state: ServeState;
  reader: DatabaseReader;
  published: Published;
  clock: Clock;
  /** The last status page that could be made: shown again while the database cannot be read. */
  memory: { page?: PageModel };
}

/** Who polls the feeds, on the status page: the last week. */
const CONSUMERS_SINCE_MS = 7 * 86_400_000;
const REFRESH_SECONDS = 30;
const LATEST_CHANGES = 20;

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  // The page is self-contained: nothing may be loaded, nothing run, not even by an injected tag.
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** The feed files the configuration has and the database published, for the page. */
function servedFiles(state: ServeState, published: Published): PageModel['feeds'] {
  const files = published.all();
  return [...state.routes.values()].flatMap((r) => {
    const f = files.get(`${r.target}/${r.file}`);
    return f
      ? [{ url: r.path, addresses: f.addresses, etag: f.etag, published: f.lastModified.toISOString() }]
      : [];
  });
}

/** GET /: the status page, built from the same data as `status --json`. */
export function pageAnswer(ctx: AnswerContext): Answer {
  const { state, reader, clock } = ctx;
  const now = clock();
  const feeds = servedFiles(state, ctx.published);
  const model = reader.read((db): PageModel => ({
    generatedAt: now.toISOString(),
    status: buildStatus(state.config, db, now.getTime()),
    changes: latestAuditEntries(db, LATEST_CHANGES).map((e) => ({
      at: e.at,
      target: e.target,
      list: e.list,
      action: e.action,
      address: e.address,
      names: e.names,
      reason: e.reason,
    })),
    feeds,
    consumers: feedConsumers(
      db,
      new Date(now.getTime() - CONSUMERS_SINCE_MS).toISOString(),
      now.toISOString(),
      (target) => state.config.targets.get(target)?.type === 'feed',
    ),
    refreshSeconds: REFRESH_SECONDS,
  }));
  if (model) ctx.memory.page = model;
  const fault = reader.fault;
  const shown =
    model ??
    (ctx.memory.page && fault
      ? { ...ctx.memory.page, fault: { message: fault.message, since: fault.since.toISOString() } }
      : undefined);
  if (!shown)
    return {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': String(REFRESH_SECONDS) },
      body: `the database cannot be read (${fault?.message ?? 'unknown'}), and no status page was made before\n`,
    };
  return { status: 200, headers: PAGE_HEADERS, body: renderPage(shown) };
}

/**
 * GET /metrics: what `--metrics-file` writes (of the run that finished last), the fetches counted
 * since serve started, what each feed file holds, and whether the database can be read.
 */
export function metricsAnswer(ctx: AnswerContext, counters: FeedCounters): Answer {
  const fromDb = ctx.reader.read((db) => {
    const run = lastFinishedRun(db);
    return renderMetrics(
      db,
      run?.finished_at
        ? {
            durationMs: Date.parse(run.finished_at) - Date.parse(run.started_at),
            exitCode: run.exit_code ?? 1,
            finishedAt: run.finished_at,
          }
        : undefined,
    );
  });
  const out: string[] = [];
  const metric = metricWriter(out);
  const files = ctx.published.all();
  const served = [...ctx.state.routes.values()].flatMap((r) => {
    const f = files.get(`${r.target}/${r.file}`);
    return f ? [{ labels: { target: r.target, file: r.file }, f }] : [];
  });
  metric(
    'dnsfence_feed_addresses',
    'gauge',
    'Addresses in each feed file as serve answers it.',
    served.map((s) => [s.labels, s.f.addresses]),
  );
  metric(
    'dnsfence_feed_published_timestamp_seconds',
    'gauge',
    'When the push that made each feed file published it.',
    served.map((s) => [s.labels, timestampSeconds(s.f.lastModified.toISOString())]),
  );
  metric('dnsfence_serve_database_readable', 'gauge', '1 while serve can read the database.', [
    [{}, fromDb === undefined ? 0 : 1],
  ]);
  return {
    status: 200,
    headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' },
    body: `${fromDb ?? ''}${counters.render()}${out.join('\n')}\n`,
  };
}

/** GET /healthz: 200 while the last run finished within healthy_within, 503 with the reason otherwise. */
export function healthAnswer(ctx: AnswerContext): Answer {
  const now = ctx.clock().getTime();
  const run = ctx.reader.read((db) => lastFinishedRun(db) ?? null);
  const within = formatDuration(ctx.state.healthyWithinMs);
  const answer = (status: number, text: string): Answer => ({
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
    body: `${text}\n`,
  });
  if (run === undefined)
    return answer(503, `unhealthy: the database cannot be read (${ctx.reader.fault?.message})`);
  if (run === null || !run.finished_at) return answer(503, 'unhealthy: no run has finished yet');
  const age = now - Date.parse(run.finished_at);
  const which = `run #${run.id} (${run.command}, ${run.outcome}) finished ${run.finished_at}, ${formatDuration(Math.max(0, age))} ago`;
  return age <= ctx.state.healthyWithinMs
    ? answer(200, `ok: ${which}`)
    : answer(503, `unhealthy: the last ${which}, more than ${within}`);
}
