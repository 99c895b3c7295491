import type { Command } from 'commander';
import { TARGET_TYPES } from '../../../adapters/registry.js';
import { loadConfigFile } from '../../config/load.js';
import { DEFAULT_HEALTHY_WITHIN_MS, DEFAULT_LISTEN, serveSettings } from '../../config/serve.js';
import type { Config } from '../../config/types.js';
import { ExitCode } from '../../errors.js';
import type { FeedServer } from '../../serve/server.js';
import { action, type Context } from '../context.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      "answer the feed targets' lists, the status page, /metrics and /healthz over HTTP(S); reads the database, never takes the lock; SIGHUP reloads, SIGTERM stops",
    )
    .option('--listen <address:port>', `where to listen (default: serve.listen, else ${DEFAULT_LISTEN})`)
    .action(
      action(
        async (ctx, opts: { listen?: string }) => {
          const config = ctx.loadConfig();
          const settings = serveSettings(config.serve, opts.listen);
          const { FeedServer: Server } = await import('../../serve/server.js');
          const running: { server?: FeedServer } = {};
          let stop = (_signal: string) => {};
          // Signals are heard from the start: a SIGHUP before the server listens must not end it.
          const stopped = new Promise<void>((resolve) => {
            stop = (signal: string) => {
              ctx.log.info(`serve: ${signal}: stopping`);
              resolve();
            };
          });
          const onTerm = () => stop('SIGTERM');
          const onInt = () => stop('SIGINT');
          const onHup = () => {
            const next = running.server && reloadConfig(ctx);
            if (next) running.server?.reload(next);
          };
          process.on('SIGTERM', onTerm);
          process.on('SIGINT', onInt);
          process.on('SIGHUP', onHup);
          try {
            running.server = await Server.start({
              config,
              settings,
              healthyWithinMs: DEFAULT_HEALTHY_WITHIN_MS,
              log: ctx.log,
              clock: ctx.clock,
            });
            await stopped;
          } finally {
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
            process.off('SIGHUP', onHup);
            await running.server?.close();
          }
          return ExitCode.ok;
        },
        { jsonLogs: true },
      ),
    );
}

/** The configuration file read again for a SIGHUP; undefined (and said why) when it cannot be used. */
export function reloadConfig(ctx: Context): Config | undefined {
  try {
    const next = loadConfigFile(ctx.configPath, TARGET_TYPES);
    if (ctx.options.db) next.database = ctx.options.db;
    for (const w of next.warnings) ctx.log.warn(w);
    return next;
  } catch (err) {
    ctx.log.error(`serve: new configuration refused, keeping the old one: ${(err as Error).message}`);
    return undefined;
  }
}
