import { runCommand, type RunResult } from '../../src/process/run.js';

/**
 * Runs `nft` (or an argv prefix such as `ssh fw1 nft`) with the target's time limit; the script,
 * when given, goes on stdin so nothing passes through a shell.
 */
export function runNft(
  nft: readonly string[],
  args: readonly string[],
  timeoutMs: number,
  stdin?: string,
): Promise<RunResult> {
  return runCommand({
    command: nft,
    args,
    timeoutMs,
    notFoundHint: 'is nftables installed?',
    ...(stdin === undefined ? {} : { stdin }),
  });
}

/** What a failed nft run said: its first `Error: …` line, and what exit code 3 means. */
export function nftFailure(r: RunResult): string {
  const hint = r.code === 3 ? ' (nft needs root or CAP_NET_ADMIN)' : '';
  return `${nftError(r.stderr)}${hint}`;
}

/** The first `Error: …` line nft printed, without the echoed command and ^^^ marker. */
export function nftError(stderr: string): string {
  const line =
    stderr.split('\n').find((l) => /Error:/.test(l)) ??
    stderr.split('\n').find((l) => l.trim() !== '') ??
    'unknown error';
  return line.replace(/^.*?Error:\s*/, '').trim();
}
