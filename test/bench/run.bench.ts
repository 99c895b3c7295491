import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Resolver } from '../../src/resolver/resolver.js';
import { netns } from '../helpers.js';
import { fmt, RUNS, stats, writeSection } from './doc.js';
import { startZone } from './zone.js';

const NAMES = Number(process.env.DNSFENCE_BENCH_NAMES ?? 10000);
const CONCURRENCY = 64;
const BIN = fileURLToPath(new URL('../../bin/dnsfence.cjs', import.meta.url));

async function pool<T>(items: T[], width: number, task: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await task(items[i++] as T);
    }),
  );
}

/** Wall time and peak RSS of one CLI run, from GNU time. */
function timed(args: string[], cli = true): { seconds: number; rssMb: number; code: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...(cli ? [BIN] : []), ...args], {
    encoding: 'utf8',
  });
  const [seconds, kb] = (r.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
  return { seconds: seconds ?? 0, rssMb: (kb ?? 0) / 1024, code: r.status ?? -1 };
}

it('benchmark', async () => {
  const zone = await startZone(NAMES);
  const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example`);
  const questions = names.flatMap((name) => [
    { name, family: 'ipv4' as const },
    { name, family: 'ipv6' as const },
  ]);
  const spec = {
    protocol: 'udp' as const,
    host: '127.0.0.1',
    port: zone.port,
    label: `127.0.0.1:${zone.port}`,
  };
  const ours: number[] = [];
  const cares: number[] = [];
  // Run 0 warms up both (JIT, socket buffers) and is not counted.
  for (let run = 0; run <= RUNS; run++) {
    const resolver = new Resolver({
      servers: [spec],
      timeoutMs: 2000,
      attempts: 2,
      concurrency: CONCURRENCY,
    });
    let t = performance.now();
    // The path a sync takes: lookupAll, `concurrency` lookups at a time.
    const results = await resolver.lookupAll(questions);
    if (run > 0) ours.push(NAMES / ((performance.now() - t) / 1000));
    await resolver.close();
    expect(results.filter((r) => r.outcome !== 'answer')).toEqual([]);
    const c = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    c.setServers([`127.0.0.1:${zone.port}`]);
    t = performance.now();
    await pool(names, CONCURRENCY / 2, (n) => Promise.all([c.resolve4(n), c.resolve6(n)]));
    if (run > 0) cares.push(NAMES / ((performance.now() - t) / 1000));
  }

  const resolveSeconds = stats(ours.map((r) => NAMES / r));
  writeSection(
    'resolution',
    `## 1. Resolution throughput: ${NAMES} names, A and AAAA, concurrency ${CONCURRENCY}

| resolver | names/s |
| --- | --- |
| dnsfence (dns2 codec, pooled UDP sockets) | ${fmt(stats(ours), 0)} |
| Node's c-ares (\`dns.promises.Resolver\`) | ${fmt(stats(cares), 0)} |
| ratio dnsfence / c-ares (per run) | ${fmt(stats(ours.map((o, i) => o / (cares[i] as number))))} (target ≥ 0.8) |

Both in-process against dnsfence's own test zone server (dns2) in a separate process on 127.0.0.1,
which is single-threaded and on the other core: it bounds both clients as much as they bound
themselves; the ratio is what compares them.`,
  );

  const dir = mkdtempSync(join(os.tmpdir(), 'dnsfence-bench-'));
  const ns = netns();
  // A wrapper that counts nft transactions (-f), to show that an unchanged sync writes nothing.
  const nft = join(dir, 'nft');
  writeFileSync(
    nft,
    `#!/bin/sh\n[ "$1" = "-f" ] && echo >> ${dir}/nft-writes\nexec ip netns exec ${ns.name} nft "$@"\n`,
  );
  chmodSync(nft, 0o755);
  const nftWrites = () =>
    existsSync(join(dir, 'nft-writes')) ? readFileSync(join(dir, 'nft-writes'), 'utf8').length : 0;
  const targets = {
    file: '  out: { type: file, dir: lists }',
    nftables: `  fw: { type: nftables, table: bench, nft: [${nft}] }`,
  };
  const configText = (kind: string, target: string) =>
    `database: ${kind}.db\nresolvers: ["127.0.0.1:${zone.port}"]\nresolve: { timeout: 2s, attempts: 2, concurrency: ${CONCURRENCY} }\nsafety: { max_addresses_per_name: 64 }\nlists:\n  bench:\n    names: [${names.join(', ')}]\ntargets:\n${target}\n`;
  // The second yardstick: the same CLI doing only the resolution (it prints the answers and records
  // nothing), so start-up and reading the configuration weigh on both sides.
  const resolveConfig = join(dir, 'resolve.yaml');
  writeFileSync(resolveConfig, configText('resolve', targets.file));
  timed(['-c', resolveConfig, 'resolve']);
  const resolveCli = stats(
    Array.from({ length: RUNS }, () => timed(['-c', resolveConfig, 'resolve']).seconds),
  );
  const rows: string[] = [];
  const notes: string[] = [];
  const rss: number[] = [];
  let lines = 0;
  for (const [kind, target] of Object.entries(targets)) {
    const config = join(dir, `${kind}.yaml`);
    writeFileSync(config, configText(kind, target));
    const first: number[] = [];
    const nochange: number[] = [];
    const changed: number[] = [];
    let unchangedWrites = 0;
    for (let run = 0; run < RUNS; run++) {
      rmSync(join(dir, `${kind}.db`), { force: true });
      rmSync(join(dir, 'lists'), { recursive: true, force: true });
      spawnSync('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', 'bench']);
      const f = timed(['-c', config, '-q', 'sync']);
      expect(f.code).toBe(0);
      first.push(f.seconds);
      rss.push(f.rssMb);
      const before = kind === 'file' ? statSync(join(dir, 'lists', 'bench.txt')).mtimeMs : nftWrites();
      const n = timed(['-c', config, '-q', 'sync']);
      expect(n.code).toBe(0);
      nochange.push(n.seconds);
      rss.push(n.rssMb);
      const after = kind === 'file' ? statSync(join(dir, 'lists', 'bench.txt')).mtimeMs : nftWrites();
      if (after !== before) unchangedWrites += 1;
      await zone.change(Math.round(NAMES / 100));
      const c = timed(['-c', config, '-q', 'sync']);
      expect(c.code).toBe(0);
      changed.push(c.seconds);
      rss.push(c.rssMb);
    }
    const ratio = (xs: number[], base = resolveSeconds) => `${(stats(xs).median / base.median).toFixed(2)}×`;
    rows.push(
      `| ${kind} | first (new database, empty target) | ${fmt(stats(first))} | ${ratio(first)} (target ≤ 2×) | ${ratio(first, resolveCli)} |`,
      `| ${kind} | no change | ${fmt(stats(nochange))} | ${ratio(nochange)} (target ≤ 1.3×) | ${ratio(nochange, resolveCli)} |`,
      `| ${kind} | 1 % of the names changed | ${fmt(stats(changed))} | ${ratio(changed)} | ${ratio(changed, resolveCli)} |`,
    );
    notes.push(`${kind}: ${unchangedWrites} of ${RUNS} no-change syncs wrote to the target (must be 0)`);
    if (kind === 'file')
      lines = readFileSync(join(dir, 'lists', 'bench.txt'), 'utf8')
        .split('\n')
        .filter(Boolean).length;
  }
  // For scale: what a run costs before its first query (Node's start, loading, the 10,000-name configuration).
  const startup = Array.from({ length: RUNS }, () =>
    timed(['-c', join(dir, 'file.yaml'), 'check', '--offline']),
  );
  rmSync(dir, { recursive: true, force: true });
  ns.cleanup();
  zone.child.kill();
  const node = Array.from({ length: RUNS }, () => timed(['-e', '0'], false).seconds);

  writeSection(
    'sync',
    `## 2. End-to-end sync of ${NAMES} names (the built CLI, wall time)

Into the file target and into nftables sets (real \`nft\` in a private network namespace). The pure
resolution time of section 1 (median ${resolveSeconds.median.toFixed(2)} s, in-process) is the yardstick of the
targets. The last column compares with \`dnsfence resolve\` on the same names, the CLI doing only the
resolution (${fmt(resolveCli)} s): what a sync adds to resolving, with start-up and
configuration on both sides.

| target | sync | seconds | vs pure resolution | vs \`dnsfence resolve\` |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Peak RSS of a sync: ${fmt(stats(rss), 0)} MB (target ≤ 200 MB). ${notes.join('; ')}. The file list
held ${lines} addresses at the end (names that changed keep their old address until retention ends).
The CLI's wall time includes starting Node (\`node -e 0\`: ${fmt(stats(node))} s here), loading dnsfence and
reading the 10,000-name configuration (\`dnsfence check --offline\`, which does just that:
${fmt(stats(startup.map((x) => x.seconds)))} s), and opening the database; pure resolution is measured in-process.`,
  );
}, 3_600_000);
