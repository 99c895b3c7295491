import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { findProfile, formatPorts, PROFILES } from '../../config/profiles.js';
import { action } from '../context.js';

export function registerProfile(program: Command): void {
  const profile = program.command('profile').description('the built-in vendor profiles');
  profile
    .command('list')
    .description('name and purpose of each profile')
    .action(
      action(async (ctx) => {
        if (ctx.json)
          ctx.printJson(
            PROFILES.map((p) => ({ name: p.name, title: p.title, lists: p.lists.map((l) => l.name) })),
          );
        else
          ctx.print(
            PROFILES.map(
              (p) => `${p.name}  ${p.title} (lists: ${p.lists.map((l) => l.name).join(', ')})`,
            ).join('\n'),
          );
      }),
    );
  profile
    .command('show <name>')
    .description('lists, names, protocols and ports of one profile')
    .action(
      action(async (ctx, name: string, _opts: unknown) => {
        const p = findProfile(name);
        if (!p)
          throw new ConfigError(
            `profile "${name}" is unknown (known: ${PROFILES.map((x) => x.name).join(', ')})`,
          );
        if (ctx.json) {
          ctx.printJson(p);
          return;
        }
        const out = [
          `${p.name}: ${p.title}`,
          `source: ${p.source}`,
          '',
          'lists (outbound, kept in step with DNS):',
        ];
        for (const l of p.lists) {
          out.push(`  ${l.name}  ${formatPorts(l.ports)}${l.retention ? `  retention ${l.retention}` : ''}`);
          const learned = (l.wildcards ?? []).map((w) => `${w} (learned with forward:)`);
          out.push(`    names: ${[...l.names, ...learned].join(', ') || '(none: see note)'}`);
          out.push(`    for: ${l.purpose}`);
          if (l.note) out.push(`    note: ${l.note}`);
        }
        out.push('', 'other connections the vendor names (not DNS-fed):');
        for (const s of p.services)
          out.push(
            `  ${s.direction.padEnd(8)}  ${formatPorts(s.ports).padEnd(18)}  ${s.target}: ${s.purpose}`,
          );
        ctx.print(out.join('\n'));
      }),
    );
}
