import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { Notifier } from '../../notify/notifier.js';
import { ConfigError, ExitCode, UserError } from '../../errors.js';
import { serveSettings } from '../../config/serve.js';
import type { FeedServer } from '../../serve/server.js';
import { checkMetricsPath, writeRunMetrics } from '../../report/metrics.js';
import { acquireLock } from '../../store/lock.js';
import { parseDuration } from '../../time.js';
import type { SyncResult } from '../../sync/engine.js';
import { TARGET_TYPES } from '../../../adapters/registry.js';
import { action, collect, type Context } from '../context.js';
import { parseEndpoint } from '../../config/forward.js';
import type { Config, Endpoint } from '../../config/types.js';
import { KeyedLock } from '../../keyed-lock.js';
import { syncLines } from '../../sync/lines.js';
import { changeLine, type Change } from '../../model/change.js';

interface WatchOpts {
  minInterval: string;
  maxInterval: string;
  driftInterval: string;
  metricsFile?: string;
  listen?: string[];
}

/** Below a second a loop would spin on a name or a target; nothing an admin means asks for it. */
const SHORTEST_MS = 1000;

function duration(text: string, key: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigError(`${key}: "${text}" is not a duration such as 60s or 1h`);
  if (ms < SHORTEST_MS) throw new ConfigError(`${key}: ${text} is too short (at least 1s)`);
  return ms;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description(
      'long-running: re-resolve each name when its TTL expires and sync the lists that changed; SIGHUP reloads, SIGTERM stops',
    )
    .option('--min-interval <duration>', 'never ask for a name more often than this', '60s')
    .option('--max-interval <duration>', 'ask for every name at least this often', '1h')
    .option(
      '--drift-interval <duration>',
      'read every target at least this often and restore what was removed there (reads only when nothing drifted)',
      '60s',
    )
    .option('--metrics-file <path>', 'write Prometheus textfile metrics after every sync')
    .option(
      '--listen <addr:port>',
      'with forward: answer DNS on this address instead of forward.listen (repeatable)',
      collect,
    )
    .action(
      action(
        async (ctx, opts: WatchOpts) => {
          const minIntervalMs = duration(opts.minInterval, '--min-interval');
          const maxIntervalMs = duration(opts.maxInterval, '--max-interval');
          const driftIntervalMs = duration(opts.driftInterval, '--drift-interval');
          if (minIntervalMs > maxIntervalMs)
            throw new ConfigError('--min-interval is longer than --max-interval');
          const config = ctx.loadConfig();
          const listen = listenOption(opts.listen, config);
          if (opts.metricsFile) checkMetricsPath(opts.metricsFile);
          // The watch holds the lock for its whole life: a concurrent sync exits 4 naming it.
          const lock = acquireLock(config.database, 'watch', ctx.clock());
          const db = ctx.openWritable();
          const { Watcher } = await import('../../sync/watch.js');
          const { Forwarding } = await import('../../forward/forwarding.js');
          const notifier = new Notifier({ db, log: ctx.log, clock: ctx.clock });
          let current = config;
          let server: FeedServer | undefined;
          const gate = new KeyedLock();
          const forwarding = new Forwarding({
            db,
            gate,
            clock: ctx.clock,
            log: ctx.log,
            listen,
            wantSync: (lists) => watcher.requestSync(lists),
            held: (changes, at) => printChangeLines(ctx, changes, at.toISOString()),
          });
          const watcher = new Watcher(config, db, {
            minIntervalMs,
            maxIntervalMs,
            driftIntervalMs,
            clock: ctx.clock,
            log: ctx.log,
            onNotice: (n) => ctx.notice(n),
            reload: () => {
              const next = loadConfigFile(ctx.configPath, TARGET_TYPES);
              if (ctx.options.db) next.database = ctx.options.db;
              if (next.database !== config.database)
                throw new ConfigError('database: cannot change while watch runs; restart it');
              if (next.targets.size === 0)
                throw new ConfigError(
                  `${next.file}: targets: none configured; a watch without targets pushes nothing`,
                );
              for (const w of next.warnings) ctx.log.warn(w);
              current = next;
              server?.reload(next);
              if (Boolean(next.serve) !== Boolean(server))
                ctx.log.warn(
                  `serve: ${server ? 'still serving' : 'not serving'}; restart watch to change that`,
                );
              void forwarding.reload(next);
              return next;
            },
            gate,
            afterSync: (result) => {
              forwarding.synced(result);
              printChanges(ctx, result);
              if (opts.metricsFile) writeRunMetrics(opts.metricsFile, db, result, ctx.log);
              notifier.afterRun(current, result);
            },
          });
          const stop = (signal: string) => {
            ctx.log.info(`watch: ${signal}: finishing the push in flight, then stopping`);
            watcher.stop();
          };
          const onTerm = () => stop('SIGTERM');
          const onInt = () => stop('SIGINT');
          const onHup = () => watcher.requestReload();
          process.on('SIGTERM', onTerm);
          process.on('SIGINT', onInt);
          process.on('SIGHUP', onHup);
          try {
            // Answers feeds beside the loop, from its own read-only connection, as `serve` does.
            if (config.serve) server = await startServing(ctx, config, 2 * maxIntervalMs);
            await forwarding.start(config);
            await watcher.run();
            return ExitCode.ok;
          } finally {
            await forwarding.close();
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
            process.off('SIGHUP', onHup);
            await notifier.settled();
            await server?.close();
            db.close();
            lock.release();
          }
        },
        { jsonLogs: true },
      ),
    );
}

/**
 * The feed server of a watch. A configuration it cannot use (users file, certificate) stops the
 * watch before its first sync; a port it cannot listen on does not: the syncs go on, unserved.
 */
async function startServing(
  ctx: Context,
  config: Config,
  healthyWithinMs: number,
): Promise<FeedServer | undefined> {
  const { FeedServer } = await import('../../serve/server.js');
  try {
    return await FeedServer.start({
      config,
      settings: serveSettings(config.serve),
      healthyWithinMs,
      log: ctx.log,
      clock: ctx.clock,
    });
  } catch (err) {
    if (err instanceof ConfigError || !(err instanceof UserError)) throw err;
    ctx.log.error(`${err.message}; watch goes on syncing without serving`);
    return undefined;
  }
}

/** `--listen`: where the forwarder answers instead of forward.listen; it needs forward. */
function listenOption(texts: string[] | undefined, config: Config): Endpoint[] | undefined {
  if (!texts) return undefined;
  if (!config.forward)
    throw new ConfigError(`--listen: ${config.file} has no forward: to answer DNS with (docs/forwarding.md)`);
  return texts.map((text) => {
    const endpoint = parseEndpoint(text);
    if (typeof endpoint === 'string') throw new ConfigError(`--listen: ${endpoint}`);
    return endpoint;
  });
}

/** Change lines go where sync prints them, on stdout, each with the time of its sync; none with -q. */
function printChanges(ctx: Context, result: SyncResult): void {
  if (ctx.options.quiet) return;
  if (ctx.json) {
    for (const t of result.targets)
      for (const c of t.push?.applied ?? []) ctx.print(JSON.stringify({ time: result.finishedAt, ...c }));
    return;
  }
  for (const line of syncLines(result, false)) ctx.print(`${result.finishedAt}  ${line}`);
}

/** The forwarder's held additions, worded as a sync's changes are. */
function printChangeLines(ctx: Context, changes: readonly Change[], time: string): void {
  if (ctx.options.quiet) return;
  for (const c of changes) ctx.print(ctx.json ? JSON.stringify({ time, ...c }) : `${time}  ${changeLine(c)}`);
}
