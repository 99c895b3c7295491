import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { createAdapter } from '../../../adapters/registry.js';
import type { ResolverSpec } from '../../config/resolver-spec.js';
import type { Config } from '../../config/types.js';
import { errorMessage, ExitCode } from '../../errors.js';
import { entryProblem } from '../../notify/deliver.js';
import type { LookupResult } from '../../resolver/types.js';
import { openDatabase, type Db } from '../../store/db.js';
import { emptyDatabase, loadMigrations, schemaVersion } from '../../store/migrate.js';
import { serveSettings } from '../../config/serve.js';
import { formatDuration } from '../../time.js';
import { action, type Context } from '../context.js';

type Level = 'ok' | 'warn' | 'fail';

interface CheckLine {
  what: string;
  level: Level;
  detail: string;
}

const LABEL: Record<Level, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      'validate the configuration; unless --offline, ask each resolver about every name and read each target (read-only)',
    )
    .option('--offline', 'only validate the file')
    .action(
      action(async (ctx, opts: { offline?: boolean }) => {
        const config = ctx.loadConfig();
        const names = new Set([...config.lists.values()].flatMap((l) => l.names));
        const lines: CheckLine[] = [
          {
            what: 'config',
            level: 'ok',
            detail: `${config.file}: ${config.lists.size} list(s), ${names.size} name(s), ${config.targets.size} target(s)`,
          },
        ];
        for (const list of config.lists.values()) {
          // A note the configuration's warnings already gave (on stderr) is not said twice.
          if (list.note && !config.warnings.some((w) => w.includes(list.note as string)))
            lines.push({ what: `list ${list.name}`, level: 'ok', detail: list.note });
        }
        // A notification's URL is a secret read at each run: a missing one shows here, offline too.
        for (const entry of config.notify) {
          const problem = entryProblem(entry);
          lines.push({
            what: entry.label,
            level: problem ? 'fail' : 'ok',
            detail: problem ?? 'ready (dnsfence notify test sends a test event)',
          });
        }
        if (config.serve) lines.push(await checkServe(ctx, config));
        const db = databaseForCheck(ctx, config, lines);
        try {
          return await checkTargets(ctx, config, db, lines, opts.offline === true);
        } finally {
          db.close();
        }
      }),
    );
}

/** `serve:` as serve and watch would take it: the users file and the certificate are read. */
async function checkServe(ctx: Context, config: Config): Promise<CheckLine> {
  const { describeServe } = await import('../../serve/server.js');
  try {
    const { line, warnings } = describeServe(serveSettings(config.serve));
    for (const w of warnings) ctx.log.warn(w);
    return { what: 'serve', level: warnings.length > 0 ? 'warn' : 'ok', detail: line };
  } catch (err) {
    return { what: 'serve', level: 'fail', detail: errorMessage(err) };
  }
}

/**
 * The database the targets are read against, read-only: as the next sync will find it, or, before
 * the first sync (or before it migrates an older schema), an empty one with the current schema.
 * A file that cannot be read as a database is a finding of its own.
 */
function databaseForCheck(ctx: Context, config: Config, lines: CheckLine[]): Db {
  if (existsSync(config.database)) {
    try {
      const db = openDatabase(config.database, { readonly: true });
      const version = schemaVersion(db);
      const latest = loadMigrations().at(-1)?.version ?? 0;
      if (version === latest) return db;
      db.close();
      if (version > latest)
        lines.push({
          what: 'database',
          level: 'fail',
          detail: `${config.database}: schema version ${version} is newer than this dnsfence knows (${latest}); upgrade dnsfence`,
        });
    } catch (err) {
      lines.push({ what: 'database', level: 'fail', detail: errorMessage(err) });
    }
  }
  ctx.log.debug(`check: the targets are read against an empty database: ${config.database} is not current`);
  return emptyDatabase();
}

async function checkTargets(
  ctx: Context,
  config: Config,
  db: Db,
  lines: CheckLine[],
  offline: boolean,
): Promise<ExitCode> {
  // Building an adapter reads its secrets: a missing or group-readable secret file shows here, offline too.
  const adapters = await Promise.all(
    [...config.targets.values()].map((t) => createAdapter(t, { db, clock: ctx.clock })),
  );
  const adapterWarnings = adapters.flatMap((a) => a.warnings ?? []);
  for (const w of adapterWarnings) ctx.log.warn(w);
  const warnings = [...config.warnings, ...adapterWarnings];
  if (!offline) {
    const names = new Set([...config.lists.values()].flatMap((l) => l.names));
    lines.push(...(await checkResolvers(config, names)));
    if (config.forward) lines.push(...(await checkForward(config, names)));
    for (const adapter of adapters) {
      try {
        lines.push({ what: `target ${adapter.target}`, level: 'ok', detail: await adapter.check() });
      } catch (err) {
        lines.push({ what: `target ${adapter.target}`, level: 'fail', detail: errorMessage(err) });
      } finally {
        await adapter.close();
      }
    }
  }
  const ok = lines.every((l) => l.level !== 'fail');
  if (ctx.json) ctx.printJson({ ok, warnings, checks: lines.map((l) => ({ ...l, ok: l.level !== 'fail' })) });
  else ctx.print(lines.map((l) => `${LABEL[l.level]}  ${l.what}: ${l.detail}`).join('\n'));
  return ok ? ExitCode.ok : ExitCode.failed;
}

/**
 * `forward:` as watch would start it: each listening address bound and let go again (taken is a
 * warning, since a running watch holds it; no such address or no permission is a failure), and
 * each upstream asked one name, as each resolver is.
 */
async function checkForward(config: Config, names: Set<string>): Promise<CheckLine[]> {
  const forward = config.forward as NonNullable<Config['forward']>;
  const { listenOn } = await import('../../forward/server.js');
  const learning = [...config.lists.values()]
    .filter((l) => l.wildcards)
    .map((l) => `${l.name} (${(l.wildcards ?? []).join(', ')})`);
  const lines: CheckLine[] = [
    {
      what: 'forward',
      level: 'ok',
      detail:
        `for ${forward.clients.map((c) => c.text).join(', ')}; ` +
        `hold ${forward.holdMs > 0 ? `${formatDuration(forward.holdMs)} for ${forward.holdTargets.join(', ') || 'no target'}` : 'off'}; ` +
        `${learning.length > 0 ? `learns names for ${learning.join(', ')}` : 'no list has a wildcard to learn names for'}`,
    },
  ];
  for (const endpoint of forward.listen) {
    const what = `forward listen ${endpoint.label}`;
    try {
      const listening = await listenOn(endpoint, () => undefined);
      await listening.close();
      lines.push({ what, level: 'ok', detail: 'can be bound (UDP and TCP)' });
    } catch (err) {
      const taken = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
      lines.push({ what, level: taken ? 'warn' : 'fail', detail: errorMessage(err) });
    }
  }
  // Without upstreams of its own it asks the resolvers, which were just asked.
  for (const server of forward.upstreams ?? [])
    lines.push(await askAlone(config, server, probeName(names), `forward upstream ${server.label}`));
  return lines;
}

const probeName = (names: Set<string>): string => names.values().next().value ?? 'localhost.localdomain';

/** One server alone, one name: does it answer at all? */
async function askAlone(
  config: Config,
  server: ResolverSpec,
  name: string,
  what: string,
): Promise<CheckLine> {
  const { Resolver } = await import('../../resolver/resolver.js');
  const resolver = new Resolver({ servers: [server], ...config.resolve, attempts: 1 });
  const r = await resolver.lookup(name, 'ipv4');
  await resolver.close();
  const answered = r.outcome !== 'timeout' && r.outcome !== 'malformed' && r.outcome !== 'refused';
  return {
    what,
    level: answered ? 'ok' : 'fail',
    detail: `${name} A: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`,
  };
}

/**
 * Each resolver alone, with one name, to see that it answers at all; then every configured name
 * as a sync asks it. A configured name that does not exist is almost always a typo or a retired
 * host: it is said here, before a sync silently keeps an empty place for it.
 */
async function checkResolvers(config: Config, names: Set<string>): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const { questionsOf, resolveAll, resolversOf } = await import('../../sync/resolve-all.js');
  for (const server of resolversOf(config))
    lines.push(await askAlone(config, server, probeName(names), `resolver ${server.label}`));
  if (names.size === 0) return lines;
  const results = await resolveAll(config, questionsOf(config.lists.values()));
  const byName = new Map<string, LookupResult[]>();
  for (const r of results) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  let resolving = 0;
  for (const [name, lookups] of byName) {
    if (lookups.some((l) => l.addresses.length > 0)) {
      resolving += 1;
      continue;
    }
    const lists = [...config.lists.values()].filter((l) => l.names.includes(name)).map((l) => l.name);
    const outcomes = lookups
      .map((l) => `${l.outcome.toUpperCase()} for ${l.family === 'ipv4' ? 'A' : 'AAAA'}`)
      .join(', ');
    const negative = lookups.every((l) => l.outcome === 'nxdomain' || l.outcome === 'nodata');
    lines.push({
      what: `name ${name} (list ${lists.join(', ')})`,
      level: 'warn',
      detail: negative
        ? `${outcomes}: no address; a typo, or a retired host? (a sync keeps asking)`
        : `${outcomes}${lookups.find((l) => l.detail)?.detail ? ` (${lookups.find((l) => l.detail)?.detail})` : ''}: a sync would keep its last good addresses and exit 3`,
    });
  }
  lines.push({
    what: 'names',
    level: resolving === byName.size ? 'ok' : 'warn',
    detail: `${resolving} of ${byName.size} resolve to at least one address`,
  });
  return lines;
}
