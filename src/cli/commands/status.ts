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
            // Written as the lines are made, a chunk at a time: 10,000 names are over half a megabyte.
            const out = chunkedWriter((chunk) => ctx.print(chunk));
            out.line(
              run
                ? `last run #${run.id} ${run.command} ${run.started_at}: ${run.outcome}${run.summary ? ` (${run.summary})` : ''}`
                : 'no run yet',
            );
            out.line('', 'lists');
            for (const l of lists) {
              out.line(
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
                out.line(`    ${n.name}  ${parts.join(', ')}${last ? `  (last answer ${last})` : ''}`);
                if (n.learned)
                  out.line(
                    `      learned ${n.learned.first_learned} from ${n.learned.client} (${n.learned.entry}); last asked ${n.learned.last_queried} by ${n.learned.last_client}`,
                  );
              }
              if (l.addresses.length) out.line(`    addresses: ${l.addresses.join(' ')}`);
            }
            out.line('', 'targets');
            for (const t of targets) {
              const p = t.last_push;
              out.line(
                `  ${t.target} (${t.type}): ${p ? `last push ${p.at} ${p.outcome} (+${p.added} -${p.removed})${p.detail ? `: ${p.detail}` : ''}` : 'never pushed'}` +
                  `${t.last_success && p && t.last_success !== p.at ? `; last success ${t.last_success}` : ''}`,
              );
              for (const [list, count] of Object.entries(t.entries))
                out.line(`    ${list}: ${count} entr${count === 1 ? 'y' : 'ies'}`);
            }
            if (leftovers.length > 0) {
              out.line('', 'left behind (filled by dnsfence, no longer configured)');
              for (const l of leftovers)
                out.line(
                  `  ${l.place} (target ${l.target}, list ${l.list}, ${l.entries} entr${l.entries === 1 ? 'y' : 'ies'}, since ${l.since})`,
                  `    remove it with: ${l.removal}`,
                );
            }
            if (notifications.length > 0) {
              out.line('', 'notifications');
              for (const { entry, last } of notifications)
                out.line(
                  `  ${entry}: ${
                    !last
                      ? 'nothing sent yet (dnsfence notify test sends a test event)'
                      : `last ${last.at} ${last.outcome === 'delivered' ? 'delivered' : `FAILED after ${last.tries} ${last.tries === 1 ? 'try' : 'tries'}: ${last.detail ?? ''}`} (${last.events.join(', ')})`
                  }`,
                );
            }
            out.end();
          }
          return ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );
}

/** Lines gathered into chunks of about 64 KiB, each handed to `write` when full and at the end. */
function chunkedWriter(write: (chunk: string) => void): { line(...lines: string[]): void; end(): void } {
  let chunk = '';
  return {
    line(...lines) {
      for (const l of lines) chunk += `${l}\n`;
      if (chunk.length >= 65_536) {
        write(chunk);
        chunk = '';
      }
    },
    end() {
      if (chunk) write(chunk);
      chunk = '';
    },
  };
}
