import type { Command } from 'commander';
import { acquireLock } from '../../store/lock.js';
import { migrate, schemaVersion } from '../../store/migrate.js';
import { openDatabase } from '../../store/db.js';
import { action } from '../context.js';
import { dbInfo } from '../../store/info.js';
import { compact, prune } from '../../store/prune.js';
import { verifyAudit } from '../../store/audit.js';
import { ConfigError, ExitCode } from '../../errors.js';
import { formatDuration, parseDuration } from '../../time.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('schema and housekeeping');
  db.command('prune')
    .description(
      'remove history older than a duration; the audit chain stays verifiable through a checkpoint',
    )
    .requiredOption('--older-than <duration>', 'e.g. 400d')
    .action(
      action(async (ctx, opts: { olderThan: string }) => {
        const config = ctx.loadConfig();
        const ms = parseDuration(opts.olderThan);
        if (ms === undefined)
          throw new ConfigError(`--older-than: "${opts.olderThan}" is not a duration such as 400d`);
        // Observations inside retention or stale_limit still decide what the lists hold.
        const needed = Math.max(config.staleLimitMs, ...[...config.lists.values()].map((l) => l.retentionMs));
        if (ms < needed) {
          throw new ConfigError(
            `--older-than ${opts.olderThan}: the configuration still needs ${formatDuration(needed)} of history (retention, stale_limit)`,
          );
        }
        const lock = acquireLock(config.database, 'db prune', ctx.clock());
        try {
          const handle = ctx.openWritable();
          try {
            const now = ctx.clock();
            const result = prune(handle, new Date(now.getTime() - ms), now);
            compact(handle);
            const verdict = verifyAudit(handle);
            if (ctx.json) ctx.printJson({ ...result, auditVerified: verdict.ok });
            else {
              ctx.print(
                `pruned before ${result.cutoff}: ${result.audit} audit entries (checkpointed), ${result.presence} answers, ` +
                  `${result.failures} failure records, ${result.negativeAnswers} negative answer records, ${result.runs} runs, ${result.notifications} notification deliveries, ${result.fetches} feed fetches, ${result.learned} learned names; audit chain ${verdict.ok ? 'verified' : 'BROKEN'}`,
              );
            }
            return verdict.ok ? ExitCode.ok : ExitCode.failed;
          } finally {
            handle.close();
          }
        } finally {
          lock.release();
        }
      }),
    );
  db.command('info')
    .description('schema version, file sizes, row counts, oldest entries (read-only)')
    .action(
      action(async (ctx) => {
        const config = ctx.loadConfig();
        const handle = ctx.openReadonly();
        try {
          const info = dbInfo(handle, config.database);
          if (ctx.json) return void ctx.printJson(info);
          const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
          ctx.print(
            [
              `${info.path}: schema version ${info.schemaVersion}, ${kb(info.bytes.database)} (+ ${kb(info.bytes.wal)} WAL)`,
              ...Object.entries(info.rows).map(([t, n]) => `  ${t.padEnd(9)} ${n}`),
              `  oldest answer ${info.oldest.presence ?? '-'}, oldest audit entry ${info.oldest.audit ?? '-'}, first run ${info.oldest.run ?? '-'}`,
            ].join('\n'),
          );
        } finally {
          handle.close();
        }
      }),
    );
  db.command('migrate')
    .description('create the database or bring its schema up to date')
    .action(
      action(async (ctx) => {
        const config = ctx.loadConfig();
        const lock = acquireLock(config.database, 'db migrate', ctx.clock());
        try {
          const handle = openDatabase(config.database);
          try {
            const applied = migrate(handle, config.database);
            const version = schemaVersion(handle);
            if (ctx.json) ctx.printJson({ database: config.database, applied, version });
            else
              ctx.print(
                applied.length > 0
                  ? `${config.database}: applied migration(s) ${applied.join(', ')}; schema version ${version}`
                  : `${config.database}: schema version ${version}, up to date`,
              );
          } finally {
            handle.close();
          }
        } finally {
          lock.release();
        }
      }),
    );
}
