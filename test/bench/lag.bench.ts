import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, startZone, tempDir, waitFor } from '../helpers.js';
import { fmt, quantile, RUNS, stats, writeSection } from './doc.js';

// Propagation lag of `dnsfence watch`: 100 names with a 5 s TTL; in each round every name moves
// to a new address at a random moment; the lag is the time from the DNS change to the new address
// being in the firewall list (the file target, polled every 10 ms).

const NAMES = 100;
const TTL = 5;
const ROUND_MS = 30_000;

const address = (k: number) => `${['192.0.2', '198.51.100', '203.0.113'][k % 3]}.${Math.floor(k / 3) + 1}`;

it('propagation lag in watch', async () => {
  const { zone, spec } = await startZone();
  const dir = tempDir('dnsfence-lag-');
  const names = Array.from({ length: NAMES }, (_, i) => `lag${i}.bench.example`);
  names.forEach((n, i) => zone.set(n, { a: [address(i)], ttl: TTL }));
  zone.log.push = () => 0;
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${spec.port}"]\nresolve: { timeout: 1s, attempts: 2, families: [ipv4] }\nlists:\n  lag:\n    names: [${names.join(', ')}]\ntargets:\n  out: { type: file, dir: lists }\n`,
  );
  const file = join(dir.path, 'lists', 'lag.txt');
  const listed = () => new Set(existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []);
  const watcher = cli(['-c', join(dir.path, 'dnsfence.yaml'), '-q', 'watch', '--min-interval', `${TTL}s`]);
  await waitFor(() => listed().size >= NAMES, 20_000, 'the first sync');

  const rounds: number[][] = [];
  let next = NAMES;
  for (let round = 0; round < RUNS; round++) {
    const pending = new Map<string, number>();
    const lags: number[] = [];
    const start = performance.now();
    const timers = names.map((n) => {
      const k = next++;
      return setTimeout(
        () => {
          zone.set(n, { a: [address(k)], ttl: TTL });
          pending.set(address(k), performance.now());
        },
        Math.random() * (ROUND_MS - (TTL + 3) * 1000),
      );
    });
    while (performance.now() - start < ROUND_MS || pending.size > 0) {
      await new Promise((r) => setTimeout(r, 10));
      const now = performance.now();
      const seen = listed();
      for (const [a, at] of pending)
        if (seen.has(a)) {
          lags.push((now - at) / 1000);
          pending.delete(a);
        }
      if (now - start > ROUND_MS * 3) throw new Error(`${pending.size} changes never reached the list`);
    }
    timers.forEach(clearTimeout);
    expect(lags).toHaveLength(NAMES);
    rounds.push(lags);
  }
  process.kill(watcher.pid, 'SIGTERM');
  expect((await watcher).code).toBe(0);
  await zone.stop();
  dir.cleanup();

  const all = rounds.flat();
  const per = (q: number) => fmt(stats(rounds.map((r) => quantile(r, q))));
  writeSection(
    'lag',
    `## 4. Propagation lag in \`watch\`

${NAMES} names with a TTL of ${TTL} s; \`dnsfence watch --min-interval ${TTL}s\` (the default minimum is
60 s, to spare the resolvers; an admin who wants to follow short TTLs lowers it) into the file target.
In each of ${RUNS} rounds of ${ROUND_MS / 1000} s every name moves to a new address at a random moment;
the lag is from the DNS change to the new address being in the list (polled every 10 ms).

| lag per round (s) | min / median / max over the rounds |
| --- | --- |
| median | ${per(0.5)} |
| p90 | ${per(0.9)} |
| p99 | ${per(0.99)} |
| max | ${per(1)} |

All ${all.length} changes together: median ${quantile(all, 0.5).toFixed(2)} s, p99 ${quantile(all, 0.99).toFixed(2)} s,
max ${quantile(all, 1).toFixed(2)} s. Target: p99 ≤ TTL + 1 s = ${TTL + 1} s. A change waits for the name's
cached answer to expire (up to the TTL), then one lookup and one sync of the list.`,
  );
}, 3_600_000);
