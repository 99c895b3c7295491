import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandError, runCommand } from '../src/process/run.js';
import { tempDir } from './helpers.js';
import { groupMembers } from './process-group.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

/** A shell script whose first act is to write its pid (its process group: it leads its own). */
function script(body: string): { command: string[]; pgid: () => number } {
  const path = join(dir.path, 'cmd');
  writeFileSync(path, `#!/bin/sh\necho $$ > ${dir.path}/pid\n${body}\n`);
  chmodSync(path, 0o755);
  return { command: [path], pgid: () => Number(readFileSync(join(dir.path, 'pid'), 'utf8')) };
}

async function failure(p: Promise<unknown>): Promise<CommandError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  return err as CommandError;
}

describe('running an external command', () => {
  it('passes arguments and stdin, and returns the exit code, stdout and stderr', async () => {
    const r = await runCommand({
      command: ['sh', '-c'],
      args: ['tr a-z A-Z; echo oops >&2; exit 7'],
      stdin: 'add element\n',
      timeoutMs: 10_000,
    });
    expect(r).toEqual({ code: 7, stdout: 'ADD ELEMENT\n', stderr: 'oops\n' });
  });

  it('a command ended by a signal reports 128 + the signal number', async () => {
    const r = await runCommand({ command: ['sh', '-c', 'kill -TERM $$'], timeoutMs: 10_000 });
    expect(r.code).toBe(143);
  });

  it('a missing program is named, with the hint the caller gives', async () => {
    const err = await failure(
      runCommand({
        command: ['/nonexistent/nft'],
        args: ['-j'],
        timeoutMs: 1000,
        notFoundHint: 'is it installed?',
      }),
    );
    expect(err.reason).toBe('not-found');
    expect(err.message).toBe('/nonexistent/nft not found (is it installed?)');
  });

  it('a command written as one string with spaces is not found, and the error shows it as a list', async () => {
    const err = await failure(
      runCommand({
        command: ['ssh fw1 nft'],
        args: ['-j', 'list', 'tables'],
        timeoutMs: 1000,
        notFoundHint: 'x',
      }),
    );
    expect(err.reason).toBe('not-found');
    expect(err.message).toBe('no program named "ssh fw1 nft" (write the command as a list: [ssh, fw1, nft])');
  });

  it('a file that is not executable: permission denied (EACCES)', async () => {
    const path = join(dir.path, 'not-executable');
    writeFileSync(path, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const err = await failure(runCommand({ command: [path], timeoutMs: 1000 }));
    expect(err.reason).toBe('permission-denied');
    expect(err.message).toBe(`cannot run ${path}: permission denied (EACCES)`);
  });

  it('at the timeout the whole process group ends, even while a child of the command holds its output open', async () => {
    // `sleep` runs as a child of the shell and inherits its stdout and stderr.
    const s = script('sleep 100\necho never');
    const err = await failure(runCommand({ command: s.command, args: ['-f', '-'], timeoutMs: 300 }));
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe(
      `${s.command[0]} -f - did not finish within 300 ms (stopped with its process group)`,
    );
    expect(groupMembers(s.pgid())).toEqual([]);
  });

  it('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    // An ignored signal stays ignored across exec: the sleep ignores SIGTERM too.
    const s = script("trap '' TERM\nsleep 100\necho never");
    const err = await failure(runCommand({ command: s.command, timeoutMs: 300, graceMs: 500 }));
    expect(err.reason).toBe('timeout');
    expect(groupMembers(s.pgid())).toEqual([]);
  });

  it('a command that ended while something it started still holds its output: its answer counts, the leftover is killed', async () => {
    const s = script('sleep 100 &\necho done\nexit 0');
    const r = await runCommand({ command: s.command, timeoutMs: 500 });
    expect(r).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
    expect(groupMembers(s.pgid())).toEqual([]);
  });

  it('a command that prints without end is stopped at the output limit', async () => {
    const err = await failure(runCommand({ command: ['yes'], timeoutMs: 10_000, maxStdoutBytes: 100_000 }));
    expect(err.reason).toBe('too-much-output');
    expect(err.message).toBe('yes printed more than 100000 bytes; stopped it');
  });

  it('keeps the start of a long stderr, where the error is', async () => {
    const r = await runCommand({
      command: ['sh', '-c', `{ echo 'Error: first'; head -c 1000000 /dev/zero | tr '\\0' x; } >&2; exit 1`],
      timeoutMs: 10_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith('Error: first\nxxx')).toBe(true);
    expect(r.stderr).toHaveLength(64 * 1024);
  });
});
