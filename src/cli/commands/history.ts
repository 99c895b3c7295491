import type { Command } from 'commander';
import { parseAddress } from '../../address.js';
import { expandName } from '../../config/names.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { addressHistory, nameHistory } from '../../store/history.js';
import { parseInstant } from '../../time.js';
import { Context, exitWith } from '../context.js';

const short = (t: string | null) => (t ? t.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'now');

export function registerHistory(program: Command): void {
  program
    .command('history <name-or-address>')
    .description(
      'the timeline of one DNS name (addresses, when, TTLs, CNAMEs, failures) or one address (names, lists, targets)',
    )
    .option('--since <when>', 'a date or a duration back from now', '400d')
    .action(
      exitWith(async (subject: string, opts: { since: string }, cmd: Command) => {
        const ctx = new Context(cmd);
        const since = parseInstant(opts.since, ctx.clock(), '--since').toISOString();
        const db = ctx.openReadonly();
        try {
          const address = parseAddress(subject);
          if (address) {
            const h = addressHistory(db, address.text, since);
            if (ctx.json) return void ctx.printJson(h);
            const out = [`${h.address}`];
            out.push('  answered by:');
            if (h.presence.length === 0) out.push('    no name returned it in this period');
            for (const p of h.presence)
              out.push(
                `    ${p.name}  ${short(p.first_seen)} .. ${short(p.last_seen)}${p.chain ? `  via ${p.chain}` : ''}`,
              );
            const names = new Set(h.presence.map((p) => p.name));
            if (names.size > 1) out.push(`  shared by ${names.size} names: ${[...names].join(', ')}`);
            out.push('  held by:');
            if (h.held.length === 0) out.push('    no list on any target');
            for (const x of h.held)
              out.push(
                `    ${x.target}/${x.list}  ${short(x.added_at)} (${x.added_reason}) .. ${x.removed_at ? `${short(x.removed_at)} (${x.removed_reason})` : 'now'}`,
              );
            ctx.print(out.join('\n'));
            return ExitCode.ok;
          }
          const name = expandName(subject);
          if (!name.ok || name.names.length !== 1)
            throw new ConfigError(`"${subject}" is neither an address nor a DNS name`);
          const h = nameHistory(db, name.names[0] as string, since);
          if (ctx.json) return void ctx.printJson(h);
          const out = [`${h.name}`];
          if (h.presence.length === 0) out.push('  no answer recorded in this period');
          for (const p of h.presence) {
            out.push(
              `  ${p.address.padEnd(24)} ${short(p.first_seen)} .. ${short(p.last_seen)}  ttl ${p.ttl}  @${p.resolver}${p.chain ? `  via ${p.chain}` : ''}${p.shared_with.length ? `  (also from ${p.shared_with.join(', ')})` : ''}`,
            );
          }
          for (const f of h.failures) {
            out.push(
              `  FAILED ${f.family === 'ipv4' ? 'A' : 'AAAA'} ${f.outcome} x${f.count}  ${short(f.first_at)} .. ${short(f.last_at)}${f.detail ? `  (${f.detail})` : ''}`,
            );
          }
          ctx.print(out.join('\n'));
          return ExitCode.ok;
        } finally {
          db.close();
        }
      }),
    );
}
