import type { Command } from 'commander';
import { ConfigError, ExitCode } from '../../errors.js';
import { notifyTest } from '../../notify/notifier.js';
import { action } from '../context.js';

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('the notifications of the configuration (notify:)');
  notify
    .command('test')
    .description(
      'send a test event to every notification entry, whatever events it listens to; exit 1 when one failed',
    )
    .action(
      action(async (ctx) => {
        const config = ctx.loadConfig();
        if (config.notify.length === 0)
          throw new ConfigError(`${config.file}: notify: no entries configured (docs/notifications.md)`);
        // Recorded like every delivery, so `status` shows that the entry works.
        const db = ctx.openWritable();
        try {
          const results = await notifyTest({ db, log: ctx.log, clock: ctx.clock }, config);
          if (ctx.json)
            ctx.printJson(
              results.map((r) => ({ entry: r.entry, ok: r.ok, tries: r.tries, detail: r.detail ?? null })),
            );
          else
            ctx.print(
              results
                .map((r) =>
                  r.ok
                    ? `ok    ${r.entry}: delivered${r.tries > 1 ? ` on try ${r.tries}` : ''}`
                    : `FAIL  ${r.entry}: not delivered after ${r.tries} ${r.tries === 1 ? 'try' : 'tries'}: ${r.detail ?? 'unknown error'}`,
                )
                .join('\n'),
            );
          return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
        } finally {
          db.close();
        }
      }),
    );
}
