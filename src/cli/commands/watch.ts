import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { writeRunMetrics } from '../../report/metrics.js';
import { acquireLock } from '../../store/lock.js';
import { parseDuration } from '../../time.js';
import { Context, exitWith } from '../context.js';

interface WatchOpts {
  minInterval: string;
  maxInterval: string;
  metricsFile?: string;
}

function duration(text: string, key: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(`${key}: "${text}" is not a duration such as 60s or 1h`);
  return ms;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description(
      'long-running: re-resolve each name when its TTL expires and sync the lists that changed; SIGHUP reloads, SIGTERM stops',
    )
    .option('--min-interval <duration>', 'never ask for a name more often than this', '60s')
    .option('--max-interval <duration>', 'ask at least this often, and reconcile every list this often', '1h')
    .option('--metrics-file <path>', 'write Prometheus textfile metrics after every sync')
    .action(
      exitWith(async (opts: WatchOpts, cmd: Command) => {
        const ctx = new Context(cmd, { jsonLogs: true });
        const minIntervalMs = duration(opts.minInterval, '--min-interval');
        const maxIntervalMs = duration(opts.maxInterval, '--max-interval');
        if (minIntervalMs > maxIntervalMs)
          throw new ConfigError('--min-interval is longer than --max-interval');
        const config = ctx.loadConfig();
        // The watch holds the lock for its whole life: a concurrent sync exits 4 naming it.
        const lock = acquireLock(config.database, 'watch', ctx.clock());
        const db = ctx.openWritable();
        const { Watcher } = await import('../../sync/watch.js');
        const watcher = new Watcher(config, db, {
          minIntervalMs,
          maxIntervalMs,
          clock: ctx.clock,
          log: ctx.log,
          reload: () => {
            const next = loadConfigFile(ctx.configPath);
            if (ctx.options.db) next.database = ctx.options.db;
            if (next.database !== config.database)
              throw new ConfigError('database: cannot change while watch runs; restart it');
            for (const w of next.warnings) ctx.log.warn(w);
            return next;
          },
          afterSync: (result) => {
            if (opts.metricsFile) writeRunMetrics(opts.metricsFile, db, result);
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
          await watcher.run();
          return ExitCode.ok;
        } finally {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          process.off('SIGHUP', onHup);
          db.close();
          lock.release();
        }
      }),
    );
}
