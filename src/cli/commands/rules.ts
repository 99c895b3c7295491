import type { Command } from 'commander';
import { parseAddress } from '../../address.js';
import { ConfigError } from '../../errors.js';
import { renderRules, ruleSpecs } from '../../rules/render.js';
import { action, collect } from '../context.js';

export function registerRules(program: Command): void {
  program
    .command('rules')
    .description(
      "print the firewall rules (nft / RouterOS / OPNsense wording) that use a target's lists with the profile's ports",
    )
    .requiredOption('--target <name>', 'the target whose lists the rules use')
    .option(
      '--source <address>',
      'the host (or prefix) that needs the access, e.g. the Intra2net appliance (repeatable)',
      collect,
    )
    .action(
      action(async (ctx, opts: { target: string; source?: string[] }) => {
        const config = ctx.loadConfig();
        const target = config.targets.get(opts.target);
        if (!target)
          throw new ConfigError(
            `--target ${opts.target}: no such target (have: ${[...config.targets.keys()].join(', ') || 'none'})`,
          );
        const sources = (opts.source ?? []).map((text) => {
          const address = parseAddress(text);
          if (!address) throw new ConfigError(`--source: "${text}" is not an address or prefix`);
          return address.text;
        });
        if (ctx.json)
          ctx.printJson({
            target: target.name,
            type: target.type,
            lists: ruleSpecs(config, target),
            text: renderRules(config, target, sources),
          });
        else ctx.print(renderRules(config, target, sources));
      }),
    );
}
