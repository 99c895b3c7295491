import { runCommand, type RunResult } from '../../src/process/run.js';

/**
 * Runs `ipset` (or an argv prefix such as `ssh fw2 ipset`) with the target's time limit; a restore
 * script goes on stdin, so nothing passes through a shell.
 */
export function runIpset(
  ipset: readonly string[],
  args: readonly string[],
  timeoutMs: number,
  stdin?: string,
): Promise<RunResult> {
  return runCommand({
    command: ipset,
    args,
    timeoutMs,
    notFoundHint: 'is ipset installed? Debian: apt-get install ipset',
    ...(stdin === undefined ? {} : { stdin }),
  });
}

/** What a failed ipset run said, without its `ipset v7.17: ` banner, and what a refusal means. */
export function ipsetFailure(r: RunResult): string {
  const line =
    r.stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? `exit status ${r.code}`;
  const text = line.replace(/^ipset v[\d.]+:\s*/, '');
  const hint = /Operation not permitted|Permission denied/.test(text)
    ? ' (ipset needs root or CAP_NET_ADMIN)'
    : /Cannot open session to kernel|Protocol not supported|Address family not supported/.test(text)
      ? ' (is the ip_set kernel module available? modprobe ip_set)'
      : '';
  return `${text}${hint}`;
}

/** The line of a restore script that `ipset restore` stopped at, from its `Error in line N:`. */
export function failedLine(r: RunResult): { line: number; message: string } | undefined {
  const m = /Error in line (\d+):\s*(.*)/.exec(r.stderr);
  return m ? { line: Number(m[1]), message: (m[2] as string).trim() } : undefined;
}
