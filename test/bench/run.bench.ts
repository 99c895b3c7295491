import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dns from 'node:dns';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Resolver } from '../../src/resolver/resolver.js';

const NAMES = Number(process.env.DNSFENCE_BENCH_NAMES ?? 10000);
const RUNS = Number(process.env.DNSFENCE_BENCH_RUNS ?? 5);
const CONCURRENCY = 64;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const BIN = here('../../bin/dnsfence.js');

interface Stats {
  min: number;
  median: number;
  max: number;
}
const stats = (xs: number[]): Stats => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number, max: s.at(-1) as number };
};
const fmt = (s: Stats, digits = 2) =>
  `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;

async function startZone(): Promise<{ port: number; child: ChildProcess; change(k: number): Promise<void> }> {
  const child = spawn(process.execPath, [here('./zone-process.mjs'), String(NAMES)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
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

async function pool<T>(items: T[], width: number, task: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await task(items[i++] as T);
    }),
  );
}

/** Wall time and peak RSS of one CLI run, from GNU time. */
function timed(args: string[]): { seconds: number; rssMb: number; code: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, BIN, ...args], { encoding: 'utf8' });
  const [seconds, kb] = (r.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
  return { seconds: seconds ?? 0, rssMb: (kb ?? 0) / 1024, code: r.status ?? -1 };
}

it('benchmark', async () => {
  const zone = await startZone();
  const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example`);
  const spec = {
    protocol: 'udp' as const,
    host: '127.0.0.1',
    port: zone.port,
    label: `127.0.0.1:${zone.port}`,
  };
  const ours: number[] = [];
  const cares: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const resolver = new Resolver({
      servers: [spec],
      timeoutMs: 2000,
      attempts: 2,
      concurrency: CONCURRENCY,
    });
    let t = performance.now();
    const results = await Promise.all(
      names.flatMap((n) => [resolver.lookup(n, 'ipv4'), resolver.lookup(n, 'ipv6')]),
    );
    ours.push(NAMES / ((performance.now() - t) / 1000));
    await resolver.close();
    expect(results.filter((r) => r.outcome !== 'answer')).toEqual([]);
    const c = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    c.setServers([`127.0.0.1:${zone.port}`]);
    t = performance.now();
    await pool(names, CONCURRENCY / 2, (n) => Promise.all([c.resolve4(n), c.resolve6(n)]));
    cares.push(NAMES / ((performance.now() - t) / 1000));
  }

  const dir = mkdtempSync(join(os.tmpdir(), 'dnsfence-bench-'));
  const config = join(dir, 'dnsfence.yaml');
  writeFileSync(
    config,
    `resolvers: ["127.0.0.1:${zone.port}"]\nresolve: { timeout: 2s, attempts: 2, concurrency: ${CONCURRENCY} }\nsafety: { max_addresses_per_name: 64 }\nlists:\n  bench:\n    names: [${names.join(', ')}]\ntargets:\n  out: { type: file, dir: lists }\n`,
  );
  const first: number[] = [];
  const nochange: number[] = [];
  const changed: number[] = [];
  const rss: number[] = [];
  let unchangedWrites = 0;
  for (let run = 0; run < RUNS; run++) {
    rmSync(join(dir, 'dnsfence.db'), { force: true });
    rmSync(join(dir, 'lists'), { recursive: true, force: true });
    const f = timed(['-c', config, '-q', 'sync']);
    expect(f.code).toBe(0);
    first.push(f.seconds);
    rss.push(f.rssMb);
    const before = statSync(join(dir, 'lists', 'bench.txt')).mtimeMs;
    const n = timed(['-c', config, '-q', 'sync']);
    nochange.push(n.seconds);
    rss.push(n.rssMb);
    if (statSync(join(dir, 'lists', 'bench.txt')).mtimeMs !== before) unchangedWrites += 1;
    await zone.change(Math.round(NAMES / 100));
    const c = timed(['-c', config, '-q', 'sync']);
    changed.push(c.seconds);
    rss.push(c.rssMb);
  }
  const lines = readFileSync(join(dir, 'lists', 'bench.txt'), 'utf8')
    .split('\n')
    .filter(Boolean).length;
  rmSync(dir, { recursive: true, force: true });
  zone.child.kill();

  const resolveSeconds = stats(ours.map((r) => NAMES / r));
  const ratio = stats(ours.map((o, i) => o / (cares[i] as number)));
  const doc = `# Benchmarks

Measured by \`npm run bench\` (this file is rewritten by it). Figures are min / median / max over
${RUNS} runs, taken in one run on the same machine.

Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB,
${os.type()} ${os.release()}, Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}.
The DNS server is dnsfence's own test zone server (dns2) in a separate process on 127.0.0.1.

## 1. Resolution throughput: ${NAMES} names, A and AAAA, concurrency ${CONCURRENCY}

| resolver | names/s |
| --- | --- |
| dnsfence (dns2 codec, pooled UDP sockets) | ${fmt(stats(ours), 0)} |
| Node's c-ares (\`dns.promises.Resolver\`) | ${fmt(stats(cares), 0)} |
| ratio dnsfence / c-ares | ${fmt(ratio)} (target ≥ 0.8) |

Both are bound by the single-threaded DNS server on the other core as much as by the client; the
ratio is what compares them.

## 2. End-to-end sync of ${NAMES} names into the file target (the built CLI, wall time)

| sync | seconds | vs pure resolution (median ${resolveSeconds.median.toFixed(2)} s) |
| --- | --- | --- |
| first (new database) | ${fmt(stats(first))} | ${(stats(first).median / resolveSeconds.median).toFixed(2)}× (target ≤ 2×) |
| no change | ${fmt(stats(nochange))} | ${(stats(nochange).median / resolveSeconds.median).toFixed(2)}× (target ≤ 1.3×) |
| 1 % of the names changed | ${fmt(stats(changed))} | ${(stats(changed).median / resolveSeconds.median).toFixed(2)}× |

Peak RSS of a sync: ${fmt(stats(rss), 0)} MB (target ≤ 200 MB). Writes to the list file on the
no-change syncs: ${unchangedWrites} of ${RUNS} (must be 0). The list held ${lines} addresses at the end.

The CLI's wall time includes starting Node and opening the database; pure resolution is measured
in-process.

## What was changed because of these numbers

- dns2's codec read and wrote one bit at a time through arrays and string joins; equivalent
  arithmetic (src/resolver/codec-speed.ts, property-tested against dns2's own methods) made
  decoding 12× and encoding 2× faster. Resolution went from about 2,000 to 3,700 names/s.
- The store prepared its statements on every lookup; preparing each once per connection took the
  peak RSS of a 10,000-name sync from about 550 MB to about 230 MB and the no-change sync from about
  9 s to 5 s.
- Still short of the targets: resolution at about 0.6× c-ares (query encoding through dns2 is the
  next cost: 23 µs per query), the no-change sync at about 1.8× pure resolution (process start,
  20,000 observation writes in one transaction, the planner), and peak RSS above 200 MB.

## Not measured yet

The comparisons with a naive \`dig\` + per-name \`nft\` loop, propagation lag in \`watch\`, a simulated
year of growth, and the adapters at scale (RouterOS pipelined vs one-at-a-time, OPNsense writes
per sync) are the next part of issue 7.
`;
  writeFileSync(here('../../docs/benchmarks.md'), doc);
}, 3_600_000);
