import type { Command } from 'commander';
import { createAdapter } from '../../../adapters/index.js';
import { errorMessage, ExitCode } from '../../errors.js';
import { Context, exitWith } from '../context.js';

interface CheckLine {
  what: string;
  ok: boolean;
  detail: string;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      'validate the configuration; unless --offline, try each resolver and each target (read-only)',
    )
    .option('--offline', 'only validate the file')
    .action(
      exitWith(async (opts: { offline?: boolean }, cmd: Command) => {
        const ctx = new Context(cmd);
        const config = ctx.loadConfig();
        const lines: CheckLine[] = [
          {
            what: 'config',
            ok: true,
            detail: `${config.file}: ${config.lists.size} list(s), ${[...config.lists.values()].reduce((n, l) => n + l.names.length, 0)} name(s), ${config.targets.size} target(s)`,
          },
        ];
        for (const list of config.lists.values()) {
          if (list.note) lines.push({ what: `list ${list.name}`, ok: true, detail: list.note });
        }
        // Building an adapter reads its secrets: a missing or group-readable secret file shows here, offline too.
        const adapters = await Promise.all([...config.targets.values()].map((t) => createAdapter(t)));
        const adapterWarnings = adapters.flatMap((a) => a.warnings ?? []);
        for (const w of adapterWarnings) ctx.log.warn(w);
        const warnings = [...config.warnings, ...adapterWarnings];
        if (!opts.offline) {
          const probe = [...config.lists.values()].flatMap((l) => l.names)[0] ?? 'localhost.localdomain';
          const { Resolver } = await import('../../resolver/resolver.js');
          const { resolversOf } = await import('../../sync/resolve-all.js');
          for (const server of resolversOf(config)) {
            const resolver = new Resolver({ servers: [server], ...config.resolve, attempts: 1 });
            const r = await resolver.lookup(probe, 'ipv4');
            await resolver.close();
            const answered = r.outcome !== 'timeout' && r.outcome !== 'malformed';
            lines.push({
              what: `resolver ${server.label}`,
              ok: answered,
              detail: `${probe} A: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`,
            });
          }
          for (const adapter of adapters) {
            try {
              lines.push({ what: `target ${adapter.target}`, ok: true, detail: await adapter.check() });
            } catch (err) {
              lines.push({
                what: `target ${adapter.target}`,
                ok: false,
                detail: errorMessage(err).replace(`target ${adapter.target}: `, ''),
              });
            } finally {
              await adapter.close();
            }
          }
        }
        const ok = lines.every((l) => l.ok);
        if (ctx.json) ctx.printJson({ ok, warnings, checks: lines });
        else ctx.print(lines.map((l) => `${l.ok ? 'ok  ' : 'FAIL'}  ${l.what}: ${l.detail}`).join('\n'));
        return ok ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
