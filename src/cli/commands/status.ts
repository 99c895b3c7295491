import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { buildStatus } from '../../sync/status.js';
import { action } from '../context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'per list: names, addresses, last lookups, failing names; per target: last push and its result',
    )
    .action(
      action(async (ctx) => {
        const config = ctx.loadConfig();
        const db = ctx.openReadonly();
        try {
          const status = buildStatus(config, db, ctx.clock().getTime());
          if (ctx.json) {
            ctx.printJson(status);
          } else {
            const { last_run: run, lists, targets, leftovers, notifications } = status;
            const out: string[] = [];
            out.push(
              run
                ? `last run #${run.id} ${run.command} ${run.started_at}: ${run.outcome}${run.summary ? ` (${run.summary})` : ''}`
                : 'no run yet',
            );
            out.push('', 'lists');
            for (const l of lists) {
              out.push(
                `  ${l.list}: ${l.addresses.length} address(es)${l.failing.length ? `, FAILING: ${l.failing.join(', ')}` : ''}` +
                  `${l.learns ? `; learns ${l.learns.join(', ')} from forwarded answers` : ''}`,
              );
              for (const n of l.names) {
                const parts = n.lookups.map(
                  (x) =>
                    `${x.family === 'ipv4' ? 'A' : 'AAAA'} ${x.outcome}${x.failing_since ? ` since ${x.failing_since}` : ''}`,
                );
                const last = n.lookups
                  .map((x) => x.last_success)
                  .filter(Boolean)
                  .sort()
                  .at(-1);
                out.push(`    ${n.name}  ${parts.join(', ')}${last ? `  (last answer ${last})` : ''}`);
                if (n.learned)
                  out.push(
                    `      learned ${n.learned.first_learned} from ${n.learned.client} (${n.learned.entry}); last asked ${n.learned.last_queried} by ${n.learned.last_client}`,
                  );
              }
              if (l.addresses.length) out.push(`    addresses: ${l.addresses.join(' ')}`);
            }
            out.push('', 'targets');
            for (const t of targets) {
              const p = t.last_push;
              out.push(
                `  ${t.target} (${t.type}): ${p ? `last push ${p.at} ${p.outcome} (+${p.added} -${p.removed})${p.detail ? `: ${p.detail}` : ''}` : 'never pushed'}` +
                  `${t.last_success && p && t.last_success !== p.at ? `; last success ${t.last_success}` : ''}`,
              );
              for (const [list, count] of Object.entries(t.entries))
                out.push(`    ${list}: ${count} entr${count === 1 ? 'y' : 'ies'}`);
            }
            if (leftovers.length > 0) {
              out.push('', 'left behind (filled by dnsfence, no longer configured)');
              for (const l of leftovers)
                out.push(
                  `  ${l.place} (target ${l.target}, list ${l.list}, ${l.entries} entr${l.entries === 1 ? 'y' : 'ies'}, since ${l.since})`,
                  `    remove it with: ${l.removal}`,
                );
            }
            if (notifications.length > 0) {
              out.push('', 'notifications');
              for (const { entry, last } of notifications)
                out.push(
                  `  ${entry}: ${
                    !last
                      ? 'nothing sent yet (dnsfence notify test sends a test event)'
                      : `last ${last.at} ${last.outcome === 'delivered' ? 'delivered' : `FAILED after ${last.tries} ${last.tries === 1 ? 'try' : 'tries'}: ${last.detail ?? ''}`} (${last.events.join(', ')})`
                  }`,
                );
            }
            ctx.print(out.join('\n'));
          }
          return ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );
}
