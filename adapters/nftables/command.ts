import { spawn } from 'node:child_process';

export interface NftRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `nft` (or an argv prefix such as `ssh fw1 nft`) with a time limit; the script, when
 * given, goes on stdin so nothing passes through a shell.
 */
export function runNft(
  argv: readonly string[],
  args: readonly string[],
  timeoutMs: number,
  stdin?: string,
): Promise<NftRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, [...argv.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(`${argv[0]} not found (is nftables installed?)`) : e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${argv.join(' ')} did not finish within ${timeoutMs} ms`));
      else
        resolve({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** The first `Error: …` line nft printed, without the echoed command and ^^^ marker. */
export function nftError(stderr: string): string {
  const line =
    stderr.split('\n').find((l) => /Error:/.test(l)) ??
    stderr.split('\n').find((l) => l.trim() !== '') ??
    'unknown error';
  return line.replace(/^.*?Error:\s*/, '').trim();
}
