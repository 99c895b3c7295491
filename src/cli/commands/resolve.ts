import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseConfig } from '../../config/load.js';
import { expandName } from '../../config/names.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { isSuccess, type LookupResult } from '../../resolver/types.js';
import type { ListConfig } from '../../config/types.js';
import { action } from '../context.js';

export function registerResolve(program: Command): void {
  program
    .command('resolve [names...]')
    .description(
      'resolve now (all configured names, or the ones given) and print answers with TTLs; records nothing',
    )
    .action(
      action(async (ctx, names: string[], _opts: unknown) => {
        // Names on the command line need no configuration file: the defaults and /etc/resolv.conf do.
        const config =
          names.length > 0 && !existsSync(ctx.configPath)
            ? parseConfig('', ctx.configPath)
            : ctx.loadConfig();
        let lists: ListConfig[] = [...config.lists.values()];
        if (names.length > 0) {
          const expanded = names.flatMap((n, i) => {
            const r = expandName(n);
            if (!r.ok) throw new ConfigError(`argument ${i + 1}: ${r.message}`);
            return r.names;
          });
          lists = [
            {
              name: 'cli',
              names: expanded,
              static: [],
              families: config.resolve.families,
              retentionMs: config.retentionMs,
              maxAddressesPerName: config.safety.maxAddressesPerName,
              allowPrivate: config.safety.allowPrivate,
            },
          ];
        }
        const { questionsOf, resolveAll } = await import('../../sync/resolve-all.js');
        const results = await resolveAll(config, questionsOf(lists));
        if (ctx.json) ctx.printJson(results);
        else ctx.print(results.map(formatLookup).join('\n'));
        return results.every((r) => isSuccess(r.outcome)) ? ExitCode.ok : ExitCode.degraded;
      }),
    );
}

export function formatLookup(r: LookupResult): string {
  const type = r.family === 'ipv4' ? 'A   ' : 'AAAA';
  const via = r.chain.length > 1 ? ` via ${r.chain.slice(1).join(' > ')}` : '';
  if (r.outcome === 'answer') {
    return r.addresses
      .map((a) => `${r.name}  ${type}  ${a.address}  ttl ${a.ttl}${via}  @${r.resolver}`)
      .join('\n');
  }
  return `${r.name}  ${type}  ${r.outcome.toUpperCase()}${r.detail ? ` (${r.detail})` : ''}${via}${r.resolver ? `  @${r.resolver}` : ''}`;
}
