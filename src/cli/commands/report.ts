import type { Command } from 'commander';
import { ConfigError, ExitCode } from '../../errors.js';
import { buildReport } from '../../report/model.js';
import { checkOutputPath, writeReportFile } from '../../report/output.js';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../../report/render.js';
import { parseInstant } from '../../time.js';
import { action, collect } from '../context.js';

interface ReportOptions {
  since: string;
  until?: string;
  format: string;
  output?: string;
  target?: string[];
  list?: string[];
  name?: string[];
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("the auditors' change log: every address that entered or left a list, when and why")
    .option('--since <when>', 'start: a date (2026-11-01) or a duration back from now (30d)', '30d')
    .option('--until <when>', 'end: a date or a duration back from now (default: now)')
    .option('--format <format>', `one of ${REPORT_FORMATS.join(', ')}`, 'text')
    .option('--output <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--target <name>', 'only this target (repeatable)', collect)
    .option('--list <name>', 'only this list (repeatable)', collect)
    .option('--name <dns-name>', 'only changes caused by this DNS name (repeatable)', collect)
    .action(
      action(async (ctx, opts: ReportOptions) => {
        const format = (ctx.json ? 'json' : opts.format) as ReportFormat;
        if (!REPORT_FORMATS.includes(format)) {
          throw new ConfigError(`--format: "${opts.format}" is not one of ${REPORT_FORMATS.join(', ')}`);
        }
        const now = ctx.clock();
        const since = parseInstant(opts.since, now, '--since');
        const until = opts.until ? parseInstant(opts.until, now, '--until') : now;
        if (since > until)
          throw new ConfigError(
            `--since ${opts.since} (${since.toISOString()}) is after --until ${opts.until ?? 'now'} (${until.toISOString()}): the period is reversed`,
          );
        if (opts.output) checkOutputPath(opts.output);
        const db = ctx.openReadonly();
        try {
          const model = buildReport(
            db,
            since,
            until,
            { target: opts.target, list: opts.list, name: opts.name },
            now,
            ctx.loadConfig(),
          );
          const text = renderReport(model, format);
          if (opts.output) writeReportFile(opts.output, text);
          else ctx.print(text);
          return model.summary.chain.verified ? ExitCode.ok : ExitCode.failed;
        } finally {
          db.close();
        }
      }),
    );
}
