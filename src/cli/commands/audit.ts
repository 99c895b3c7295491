import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { verifyAudit } from '../../store/audit.js';
import { action } from '../context.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('recompute the hash chain; exit 1 and name the first bad entry if the log was altered')
    .action(
      action(async (ctx) => {
        const db = ctx.openReadonly();
        try {
          const v = verifyAudit(db);
          if (ctx.json) ctx.printJson(v);
          else if (v.ok) ctx.print(`audit log verified: ${v.entries} entries, head ${v.head}`);
          else ctx.print(`audit log BROKEN at entry ${v.firstBad?.seq}: ${v.firstBad?.problem}`);
          if (!v.ok && !ctx.json)
            ctx.log.error(
              `${ctx.loadConfig().database}: audit entry ${v.firstBad?.seq} ${v.firstBad?.problem}`,
            );
          return v.ok ? ExitCode.ok : ExitCode.failed;
        } finally {
          db.close();
        }
      }),
    );
}
