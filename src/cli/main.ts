import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from '../errors.js';
import { registerAudit } from './commands/audit.js';
import { registerCheck } from './commands/check.js';
import { registerDb } from './commands/db.js';
import { registerDemo } from './commands/demo.js';
import { registerHistory } from './commands/history.js';
import { registerInit } from './commands/init.js';
import { registerNotify } from './commands/notify.js';
import { registerProfile } from './commands/profile.js';
import { registerReport } from './commands/report.js';
import { registerResolve } from './commands/resolve.js';
import { registerRules } from './commands/rules.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerSync } from './commands/sync.js';
import { registerSystemd } from './commands/systemd.js';
import { registerWatch } from './commands/watch.js';
import { packageRoot } from '../paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function buildProgram(): Command {
  const version = (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
  ).version;
  const program = new Command('dnsfence')
    .description('keeps firewall address lists in step with DNS, with an auditable change log')
    .version(version)
    .option(
      '-c, --config <file>',
      'configuration file (default: $DNSFENCE_CONFIG, ./dnsfence.yaml, /etc/dnsfence/dnsfence.yaml)',
    )
    .option('--db <file>', 'SQLite database (overrides database in the configuration)')
    .option('--json', 'machine-readable output on stdout, one JSON document')
    .option('-v, --verbose', 'more detail on stderr, stack traces for internal errors')
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--no-color', 'no colours (dnsfence prints none unless on a terminal)')
    .showHelpAfterError('(dnsfence --help lists the commands)')
    .exitOverride();
  registerInit(program);
  registerCheck(program);
  registerResolve(program);
  registerSync(program);
  registerWatch(program);
  registerServe(program);
  registerStatus(program);
  registerHistory(program);
  registerReport(program);
  registerAudit(program);
  registerDb(program);
  registerProfile(program);
  registerRules(program);
  registerNotify(program);
  registerSystemd(program);
  registerDemo(program);
  program.commands.forEach(function override(c: Command) {
    c.exitOverride();
    c.commands.forEach(override);
  });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that has gone (`dnsfence sync | head -1`, a closed terminal) must not end the command
  // half-way with a stack trace: what it does to firewalls and the audit log goes on, unprinted.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const program = buildProgram();
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err, verbose);
  }
  // The command is done: a timer or socket a library left behind must not keep the process
  // alive (a cron job that never ends is a hang). Output to a file or terminal is written at once,
  // but into a pipe only as far as the pipe's buffer reaches; the rest must go out before the exit.
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}

/**
 * Once all written to the stream has been handed to the OS, or its reader has gone (`| head`): the
 * callback of a write comes after those before it, with or without an error.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

function exitCodeFor(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (usage errors) or the help/version text.
    return err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
      ? ExitCode.ok
      : ExitCode.usage;
  }
  if (err instanceof UserError) {
    process.stderr.write(`dnsfence: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`dnsfence: internal error: ${e?.message ?? String(err)}\n`);
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('dnsfence: run again with --verbose for details\n');
  return ExitCode.failed;
}
