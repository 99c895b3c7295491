import type { Command } from 'commander';
import { action } from '../context.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'offline demonstration: an embedded DNS server, four syncs into a scratch database and file target, then the report',
    )
    .action(
      action(async (ctx) => {
        const { runDemo } = await import('../../demo/demo.js');
        const result = await runDemo((s) => (ctx.json ? undefined : ctx.print(s)), ctx.log);
        if (ctx.json) ctx.printJson(result);
        return 0;
      }),
    );
}
