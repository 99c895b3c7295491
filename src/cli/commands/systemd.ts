import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { defaultExec, renderUnits } from '../../scheduling/systemd.js';
import { parseDuration } from '../../time.js';
import { Context, exitWith } from '../context.js';

export function registerSystemd(program: Command): void {
  program
    .command('systemd')
    .description(
      'print a hardened dnsfence.service + dnsfence.timer (or a watch service) for this config, and the cron line',
    )
    .option('--interval <duration>', 'how often the timer runs sync', '5min')
    .option('--user', 'units for a user instance (systemctl --user)')
    .option('--watch', 'a long-running watch service instead of a timer')
    .action(
      exitWith(async (opts: { interval: string; user?: boolean; watch?: boolean }, cmd: Command) => {
        const ctx = new Context(cmd);
        const intervalMs = parseDuration(opts.interval.replace(/min$/, 'm'));
        if (!intervalMs || intervalMs < 60_000)
          throw new ConfigError(`--interval: "${opts.interval}" must be a duration of at least 1min`);
        const units = renderUnits(ctx.loadConfig(), {
          intervalMs,
          user: opts.user ?? false,
          watch: opts.watch ?? false,
          exec: defaultExec(packageRoot()),
        });
        for (const w of units.warnings) ctx.log.warn(w);
        if (ctx.json) return void ctx.printJson(units);
        const where = opts.user ? '~/.config/systemd/user' : '/etc/systemd/system';
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
      }),
    );
}
