import type { Command } from 'commander';
import { acquireLock } from '../../store/lock.js';
import { migrate, schemaVersion } from '../../store/migrate.js';
import { openDatabase } from '../../store/db.js';
import { Context, exitWith } from '../context.js';
import { dbInfo } from '../../store/info.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('schema and housekeeping');
  db.command('info')
    .description('schema version, file sizes, row counts, oldest entries (read-only)')
    .action(
      exitWith(async (_opts: unknown, cmd: Command) => {
        const ctx = new Context(cmd);
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
      exitWith(async (_opts: unknown, cmd: Command) => {
        const ctx = new Context(cmd);
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
