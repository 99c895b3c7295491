import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { defaultExec, renderUnits } from '../../scheduling/systemd.js';
import { parseDuration } from '../../time.js';
import { action } from '../context.js';

export function registerSystemd(program: Command): void {
  program
    .command('systemd')
    .description(
      'print a hardened dnsfence.service + dnsfence.timer (or a watch service) for this config, and the cron line',
    )
    .option('--interval <duration>', 'how often the timer runs sync', '5min')
    .option('--user', 'units for a user instance (systemctl --user)')
    .option('--watch', 'a long-running watch service instead of a timer')
    .option(
      '--serve',
      'a dnsfence-serve.service answering feeds, the status page and metrics (beside the timer or watch)',
    )
    .option('--system-user <name>', 'run the service as this system user (User= and Group=)')
    .action(
      action(
        async (
          ctx,
          opts: { interval: string; user?: boolean; watch?: boolean; serve?: boolean; systemUser?: string },
        ) => {
          if (opts.serve && opts.watch)
            throw new ConfigError(
              '--serve: a watch answers feeds itself when serve: is configured; --serve is the unit for use beside the timer',
            );
          if (opts.systemUser !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(opts.systemUser))
            throw new ConfigError(`--system-user: "${opts.systemUser}" is not a user name (e.g. dnsfence)`);
          if (opts.systemUser !== undefined && opts.user)
            throw new ConfigError('--system-user: a user instance (--user) runs as its own user already');
          const intervalMs = parseDuration(opts.interval.replace(/min$/, 'm'));
          if (!intervalMs || intervalMs < 60_000)
            throw new ConfigError(`--interval: "${opts.interval}" must be a duration of at least 1min`);
          const units = renderUnits(ctx.loadConfig(), {
            intervalMs,
            user: opts.user ?? false,
            watch: opts.watch ?? false,
            serve: opts.serve ?? false,
            exec: defaultExec(packageRoot()),
            ...(opts.systemUser ? { systemUser: opts.systemUser } : {}),
          });
          for (const w of units.warnings) ctx.log.warn(w);
          if (ctx.json) return void ctx.printJson(units);
          const where = opts.user ? '~/.config/systemd/user' : '/etc/systemd/system';
          const systemctl = `systemctl ${opts.user ? '--user ' : ''}`;
          if (opts.serve) {
            ctx.print(
              [
                `# ---- ${where}/dnsfence-serve.service ----`,
                units.service,
                `# then: ${systemctl}daemon-reload && ${systemctl}enable --now dnsfence-serve.service`,
              ].join('\n'),
            );
            return;
          }
          const out = [`# ---- ${where}/dnsfence.service ----`, units.service];
          if (units.timer) out.push(`# ---- ${where}/dnsfence.timer ----`, units.timer);
          if (units.cron)
            out.push(
              `# ---- or, without systemd, a cron line (${opts.user ? 'crontab -e' : '/etc/cron.d/dnsfence'}) ----`,
              units.cron,
            );
          out.push(
            opts.watch
              ? `# then: systemctl ${opts.user ? '--user ' : ''}daemon-reload && systemctl ${opts.user ? '--user ' : ''}enable --now dnsfence.service`
              : `# then: systemctl ${opts.user ? '--user ' : ''}daemon-reload && systemctl ${opts.user ? '--user ' : ''}enable --now dnsfence.timer`,
          );
          ctx.print(out.join('\n'));
        },
      ),
    );
}
