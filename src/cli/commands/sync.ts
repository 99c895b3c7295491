import { writeSync } from 'node:fs';
import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { acquireLock } from '../../store/lock.js';
import { interruptRun } from '../../store/runs.js';
import { notifyRun } from '../../notify/notifier.js';
import { checkMetricsPath, writeRunMetrics } from '../../report/metrics.js';
import { action, collect, type Context } from '../context.js';

export function registerSync(program: Command): void {
  program
    .command('plan')
    .description(
      'resolve and show per target and list what sync would add or remove, and why; writes nothing',
    )
    .option('--target <name>', 'only this target (repeatable)', collect)
    .option('--list <name>', 'only this list (repeatable)', collect)
    .action(
      action(async (ctx, opts: { target?: string[]; list?: string[] }) =>
        run(ctx, { ...opts, dryRun: true, force: false }, 'plan'),
      ),
    );

  program
    .command('sync')
    .description('resolve, record, diff, push and audit: the cron/systemd entry point')
    .option('--dry-run', 'stop before writing to any firewall or recording anything')
    .option('--target <name>', 'only this target (repeatable)', collect)
    .option('--list <name>', 'only this list (repeatable)', collect)
    .option('--force', 'apply removals that exceed safety.max_remove (recorded as reason forced)')
    .option('--metrics-file <path>', 'write Prometheus textfile metrics here after the run (atomically)')
    .action(
      action(
        async (
          ctx,
          opts: {
            dryRun?: boolean;
            force?: boolean;
            target?: string[];
            list?: string[];
            metricsFile?: string;
          },
        ) => run(ctx, { ...opts, dryRun: opts.dryRun ?? false, force: opts.force ?? false }, 'sync'),
      ),
    );
}

async function run(
  ctx: Context,
  opts: { dryRun: boolean; force: boolean; target?: string[]; list?: string[]; metricsFile?: string },
  command: string,
): Promise<ExitCode> {
  const config = ctx.loadConfig();
  if (opts.metricsFile) checkMetricsPath(opts.metricsFile);
  // plan and --dry-run write nothing, so they need no lock and never wait for a running sync.
  const lock = opts.dryRun ? undefined : acquireLock(config.database, command, ctx.clock());
  const release = () => lock?.release();
  const db = ctx.openWritable();
  // Between two steps of the event loop no transaction of this run is open: what reached a
  // firewall was one transaction there (nft, a file rename) or confirmed entry by entry (RouterOS,
  // OPNsense), and the next sync records or completes whatever the audit log has not seen yet.
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    let recorded = '';
    try {
      const id = opts.dryRun ? undefined : interruptRun(db, signal, code, ctx.clock());
      if (id !== undefined) recorded = `run ${id} is recorded as interrupted and `;
    } catch {
      // The database is busy or gone: the next run marks this one interrupted.
    }
    const outcome = opts.dryRun
      ? 'nothing was written'
      : `nothing half-applied: ${recorded}the next sync completes what this one left`;
    writeSync(2, `${command}: interrupted by ${signal}; ${outcome}\n`);
    release();
    process.exit(code);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    // Loaded here, not at start-up: the resolver and adapters are not needed by the read-only commands.
    const { runSync } = await import('../../sync/engine.js');
    const { syncJson, syncLines } = await import('../../sync/lines.js');
    const result = await runSync(config, db, {
      command,
      preview: opts.dryRun,
      force: opts.force,
      ...(opts.target ? { targets: opts.target } : {}),
      ...(opts.list ? { lists: opts.list } : {}),
      clock: ctx.clock,
      onNotice: (n) => ctx.notice(n),
    });
    if (opts.metricsFile && !opts.dryRun) writeRunMetrics(opts.metricsFile, db, result, ctx.log);
    if (ctx.json) ctx.printJson(syncJson(result));
    // -q: a sync that pushes prints no change lines (the audit log has them); a preview is its output.
    else if (!ctx.options.quiet || opts.dryRun)
      ctx.print(syncLines(result, ctx.options.verbose === true).join('\n'));
    await notifyRun({ db, log: ctx.log, clock: ctx.clock }, config, result);
    return result.exitCode;
  } finally {
    db.close();
    release();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
