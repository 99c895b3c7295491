import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { errnoWords } from '../errno.js';

export interface RunOptions {
  /** The command as the user configured it: the program, then any leading arguments. */
  command: readonly string[];
  /** Arguments dnsfence adds after the configured command. */
  args?: readonly string[];
  /** Written to the command's stdin, which is then closed: nothing passes through a shell. */
  stdin?: string;
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL once the time is up. */
  graceMs?: number;
  /** A command that prints more than this on stdout is stopped and fails. */
  maxStdoutBytes?: number;
  /** Added to "… not found" when the program is missing: "is nftables installed?". */
  notFoundHint?: string;
}

export interface RunResult {
  /** Exit status; 128 + signal number when a signal ended it. */
  code: number;
  stdout: string;
  /** The first STDERR_KEPT bytes: enough for any error message. */
  stderr: string;
}

export type RunFailure = 'not-found' | 'permission-denied' | 'cannot-start' | 'timeout' | 'too-much-output';

/** The command did not run to its end. The message names the command and says why. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly reason: RunFailure,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const GRACE_MS = 3000;
/** `nft -j` prints 15 to 50 bytes per element: room for sets of millions of entries. */
const MAX_STDOUT = 128 * 1024 * 1024;
const STDERR_KEPT = 64 * 1024;
const KILL_WAIT_MS = 1000;

/** Process groups of commands still running: killed when dnsfence exits, whatever the reason. */
const running = new Set<number>();
let exitHook = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already, or was never ours to signal (a setuid sudo): nothing more we can do
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `ssh fw1 nft` written as one string: the list form the user meant. */
function asList(command: readonly string[]): string | undefined {
  const [program = '', ...rest] = command;
  if (!/\s/.test(program.trim())) return undefined;
  return `[${[...program.trim().split(/\s+/), ...rest].join(', ')}]`;
}

function startFailure(options: RunOptions, code: string | undefined): CommandError {
  const { command, notFoundHint } = options;
  const program = command[0] ?? '';
  if (code === 'ENOENT') {
    const list = asList(command);
    if (list)
      return new CommandError(
        `no program named "${program}" (write the command as a list: ${list})`,
        'not-found',
      );
    return new CommandError(`${program} not found${notFoundHint ? ` (${notFoundHint})` : ''}`, 'not-found');
  }
  if (code === 'EACCES' || code === 'EPERM')
    return new CommandError(`cannot run ${program}: ${errnoWords(code)}`, 'permission-denied');
  return new CommandError(`cannot run ${program}: ${errnoWords(code ?? 'unknown error')}`, 'cannot-start');
}

/**
 * Runs an external command (nft, ipset, a notification hook) with a time limit that holds.
 * The command gets a process group of its own; at the limit the whole group gets SIGTERM, and
 * SIGKILL after the grace period, so a wrapper's children end with it. The result never waits
 * for pipes that a leftover process still holds open: Node's 'close' would, for as long as it lives.
 */
export function runCommand(options: RunOptions): Promise<RunResult> {
  const { command, args = [], stdin = '', timeoutMs } = options;
  const graceMs = options.graceMs ?? GRACE_MS;
  const maxStdout = options.maxStdoutBytes ?? MAX_STDOUT;
  const shown = [...command, ...args].join(' ');
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const pid of running) killGroup(pid, 'SIGKILL');
    });
  }

  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command[0] as string, [...command.slice(1), ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      reject(startFailure(options, (err as NodeJS.ErrnoException).code));
      return;
    }
    const pid = child.pid;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let exit: RunResult['code'] | undefined;
    /** Why the command is being stopped; undefined while it may still end by itself. */
    let failure: CommandError | undefined;
    let ending = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const finish = () => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      if (pid !== undefined) running.delete(pid);
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      if (failure) reject(failure);
      else
        resolve({
          code: exit ?? 1,
          stdout: Buffer.concat(stdout).toString(),
          stderr: Buffer.concat(stderr).toString(),
        });
    };

    /**
     * Signals the whole group and finishes as soon as none of it is left. SIGTERM is followed by
     * SIGKILL after the grace period; after SIGKILL (which kill(2) does not wait for) a process
     * stuck in the kernel, such as a hung NFS read, is not waited for long.
     */
    const endGroup = (signal: 'SIGTERM' | 'SIGKILL') => {
      if (pid === undefined) return;
      ending = true;
      killGroup(pid, signal);
      const poll = setInterval(() => {
        if (exit !== undefined && !groupAlive(pid)) finish();
      }, 50);
      const limit = setTimeout(
        () => {
          clearInterval(poll);
          if (signal === 'SIGTERM') endGroup('SIGKILL');
          else finish();
        },
        signal === 'SIGTERM' ? graceMs : KILL_WAIT_MS,
      );
      timers.push(poll, limit);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawning failed (no pid); errors of a running child (a failed kill) change nothing.
      if (pid !== undefined) return;
      failure = startFailure(options, err.code);
      finish();
    });
    if (pid === undefined) return;
    running.add(pid);

    child.stdout?.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (stdoutBytes <= maxStdout) stdout.push(d);
      else if (!ending) {
        failure = new CommandError(
          `${shown} printed more than ${maxStdout} bytes; stopped it`,
          'too-much-output',
        );
        endGroup('SIGTERM');
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderrBytes < STDERR_KEPT) stderr.push(d.subarray(0, STDERR_KEPT - stderrBytes));
      stderrBytes += d.length;
    });
    child.stdin?.on('error', () => undefined); // a command that exits without reading its input
    child.on('exit', (code, signal) => {
      exit = code ?? 128 + (signal ? constants.signals[signal] : 0);
    });
    child.on('close', finish);

    timers.push(
      setTimeout(() => {
        if (ending) return;
        if (exit !== undefined) {
          // The command ended, but something it started still holds its output open: what the
          // command said is complete, and that leftover is killed rather than waited for.
          endGroup('SIGKILL');
          return;
        }
        failure = new CommandError(
          `${shown} did not finish within ${timeoutMs} ms (stopped with its process group)`,
          'timeout',
        );
        endGroup('SIGTERM');
      }, timeoutMs),
    );
    child.stdin?.end(stdin);
  });
}
