import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { findProfile, PROFILES } from '../../config/profiles.js';
import { starterConfig } from '../../config/starter.js';
import { ConfigError } from '../../errors.js';
import { action } from '../context.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented starter dnsfence.yaml (never overwrites without --force)')
    .option('--profile <name>', `start from a vendor profile (${PROFILES.map((p) => p.name).join(', ')})`)
    .option('--force', 'overwrite an existing file')
    .action(
      action(async (ctx, opts: { profile?: string; force?: boolean }) => {
        const path = ctx.options.config ?? 'dnsfence.yaml';
        if (opts.profile && !findProfile(opts.profile)) {
          throw new ConfigError(
            `--profile: unknown profile "${opts.profile}" (known: ${PROFILES.map((p) => p.name).join(', ')})`,
          );
        }
        if (existsSync(path) && !opts.force)
          throw new ConfigError(`${path} exists; use --force to overwrite it`);
        writeFileSync(path, starterConfig(opts.profile), { mode: 0o644 });
        if (ctx.json) ctx.printJson({ written: path });
        else ctx.print(`wrote ${path}; edit it, then run: dnsfence check`);
      }),
    );
}
