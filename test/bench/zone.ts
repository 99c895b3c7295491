import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The benchmark's DNS server (zone-process.mjs), in its own process so it does not share the
 * measured event loop. `change(k)` moves the A records of k names.
 */
export async function startZone(
  names: number,
): Promise<{ port: number; child: ChildProcess; change(k: number): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./zone-process.mjs', import.meta.url)), String(names)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  // A benchmark that fails part-way must not leave its DNS server running.
  process.on('exit', () => child.kill());
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise<string>((r) => (lines.length ? r(lines.shift()!) : waiters.push(r)));
  const port = Number(await next());
  return {
    port,
    child,
    change: async (k) => {
      child.stdin!.write(`change ${k}\n`);
      await next();
    },
  };
}
