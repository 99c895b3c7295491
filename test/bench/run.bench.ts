import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, onTestFinished } from 'vitest';
import { TARGET_TYPES } from '../../adapters/registry.js';
import { loadConfigFile } from '../../src/config/load.js';
import { Resolver } from '../../src/resolver/resolver.js';
import type { ResolverSpec } from '../../src/config/resolver-spec.js';
import type { Question } from '../../src/resolver/types.js';
import { openDatabase } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { runSync } from '../../src/sync/engine.js';
import { systemClock } from '../../src/time.js';
import { netns } from '../helpers.js';
import { fmt, RUNS, stats, writeSection } from './doc.js';
import { startZone } from './zone.js';

const NAMES = Number(process.env.DNSFENCE_BENCH_NAMES ?? 10000);
const CONCURRENCY = 64;
const BIN = fileURLToPath(new URL('../../bin/dnsfence.cjs', import.meta.url));
const CARES = fileURLToPath(new URL('./cares.mjs', import.meta.url));

async function pool<T>(items: T[], width: number, task: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await task(items[i++] as T);
    }),
  );
}

/**
 * Wall time and peak RSS of one CLI run, from GNU time. Standard output goes to /dev/null: `dnsfence
 * resolve` prints a line per answer, over a megabyte for 10,000 names, and a pipe read by this
 * process would time the reading as well (and spawnSync stops a child past its buffer's 1 MB).
 */
function timed(args: string[], cli = true): { seconds: number; rssMb: number; code: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...(cli ? [BIN] : []), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const [seconds, kb] = (r.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
  return { seconds: seconds ?? 0, rssMb: (kb ?? 0) / 1024, code: r.status ?? -1 };
}

/** Seconds for dnsfence's resolver to answer every question, in this process: the path a sync takes. */
async function resolveSeconds(questions: Question[], spec: ResolverSpec): Promise<number> {
  const resolver = new Resolver({ servers: [spec], timeoutMs: 2000, attempts: 2, concurrency: CONCURRENCY });
  const t = performance.now();
  const results = await resolver.lookupAll(questions);
  const seconds = (performance.now() - t) / 1000;
  await resolver.close();
  expect(results.filter((r) => r.outcome !== 'answer')).toEqual([]);
  return seconds;
}

/**
 * Seconds of one sync through the engine the CLI runs, in this process, as a long-running process
 * runs it: the configuration is read and the database opened outside the timing, once per sync here.
 */
async function syncSeconds(configFile: string): Promise<number> {
  const config = loadConfigFile(configFile, TARGET_TYPES);
  const db = openDatabase(config.database);
  try {
    migrate(db, config.database);
    const t = performance.now();
    const result = await runSync(config, db, {
      command: 'sync',
      preview: false,
      force: false,
      clock: systemClock,
    });
    const seconds = (performance.now() - t) / 1000;
    expect(result.exitCode).toBe(0);
    return seconds;
  } finally {
    db.close();
  }
}

it('benchmark', async () => {
  const zone = await startZone(NAMES);
  // A benchmark that fails part-way must not leave Knot running (stopping twice is harmless).
  onTestFinished(() => zone.stop());
  const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example`);
  const questions = names.flatMap((name) => [
    { name, family: 'ipv4' as const },
    { name, family: 'ipv6' as const },
  ]);
  const spec: ResolverSpec = {
    protocol: 'udp',
    host: '127.0.0.1',
    port: zone.port,
    label: `127.0.0.1:${zone.port}`,
  };
  const ours: number[] = [];
  const cares: number[] = [];
  // Run 0 warms up both (JIT, socket buffers) and is not counted.
  for (let run = 0; run <= RUNS; run++) {
    const seconds = await resolveSeconds(questions, spec);
    if (run > 0) ours.push(NAMES / seconds);
    const c = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    c.setServers([`127.0.0.1:${zone.port}`]);
    const t = performance.now();
    await pool(names, CONCURRENCY / 2, (n) => Promise.all([c.resolve4(n), c.resolve6(n)]));
    if (run > 0) cares.push(NAMES / ((performance.now() - t) / 1000));
  }

  writeSection(
    'resolution',
    `## 1. Resolution throughput: ${NAMES} names, A and AAAA, concurrency ${CONCURRENCY}

| resolver | names/s |
| --- | --- |
| dnsfence (own codec, pooled connected UDP sockets) | ${fmt(stats(ours), 0)} |
| Node's c-ares (\`dns.promises.Resolver\`) | ${fmt(stats(cares), 0)} |
| ratio dnsfence / c-ares (per run) | ${fmt(stats(ours.map((o, i) => o / (cares[i] as number))))} (target ≥ 1.0) |

Both in this process, warm (a first run of each is not counted), one after the other, against Knot
DNS serving the zone on 127.0.0.1 in its own processes.`,
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
    file: `  out: { type: file, dir: ${dir}/lists }`,
    nftables: `  fw: { type: nftables, table: bench, nft: [${nft}] }`,
  };
  const configText = (kind: string, target: string) =>
    `database: ${dir}/${kind}.db\nresolvers: ["127.0.0.1:${zone.port}"]\nresolve: { timeout: 2s, attempts: 2, concurrency: ${CONCURRENCY} }\nsafety: { max_addresses_per_name: 64 }\nlists:\n  bench:\n    names: [${names.join(', ')}]\ntargets:\n${target}\n`;
  // The yardstick of the CLI: c-ares resolving the same names with the same concurrency, in a
  // process of its own (test/bench/cares.mjs), as a cron job would pay for it.
  const namesFile = join(dir, 'names.txt');
  writeFileSync(namesFile, `${names.join('\n')}\n`);
  const caresProcess = () => {
    const r = timed([CARES, `127.0.0.1:${zone.port}`, namesFile, String(CONCURRENCY)], false);
    expect(r.code).toBe(0);
    return r.seconds;
  };
  // `dnsfence resolve`: the CLI resolving the same names, recording nothing.
  const resolveConfig = join(dir, 'resolve.yaml');
  writeFileSync(resolveConfig, configText('resolve', targets.file));
  const resolveProcess = () => {
    const r = timed(['-c', resolveConfig, 'resolve']);
    expect(r.code).toBe(0);
    return r.seconds;
  };
  caresProcess();
  resolveProcess();

  type Way = 'cli' | 'in-process';
  interface Measured {
    yardstick: number[];
    resolve: number[];
    first: number[];
    nochange: number[];
    changed: number[];
  }
  const measured = new Map<string, Measured>();
  const rss: number[] = [];
  const notes: string[] = [];
  let lines = 0;
  for (const [kind, target] of Object.entries(targets)) {
    const config = join(dir, `${kind}.yaml`);
    writeFileSync(config, configText(kind, target));
    const reset = () => {
      rmSync(join(dir, `${kind}.db`), { force: true });
      rmSync(join(dir, `${kind}.db-wal`), { force: true });
      rmSync(join(dir, `${kind}.db-shm`), { force: true });
      rmSync(join(dir, 'lists'), { recursive: true, force: true });
      spawnSync('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', 'bench']);
    };
    const written = () => (kind === 'file' ? statSync(join(dir, 'lists', 'bench.txt')).mtimeMs : nftWrites());
    for (const way of ['cli', 'in-process'] as Way[]) {
      const m: Measured = { yardstick: [], resolve: [], first: [], nochange: [], changed: [] };
      let unchangedWrites = 0;
      // The CLI starts cold every time and needs no warm-up round; in one process, round 0 warms
      // up the engine (as the first sync of a daemon would) and is not counted.
      const warmup = way === 'in-process' ? 1 : 0;
      for (let run = 0; run < RUNS + warmup; run++) {
        reset();
        // The yardsticks of each round are measured right before its syncs: this machine's speed
        // drifts from minute to minute, and a yardstick measured apart from the syncs drifts with it.
        const sync = async () => {
          if (way === 'in-process') return syncSeconds(config);
          const r = timed(['-c', config, '-q', 'sync']);
          expect(r.code).toBe(0);
          rss.push(r.rssMb);
          return r.seconds;
        };
        const yardstick = way === 'in-process' ? await resolveSeconds(questions, spec) : caresProcess();
        const resolve = way === 'in-process' ? 0 : resolveProcess();
        const first = await sync();
        const before = written();
        const nochange = await sync();
        if (written() !== before) unchangedWrites += 1;
        await zone.change(Math.round(NAMES / 100));
        const changed = await sync();
        if (run < warmup) continue;
        m.yardstick.push(yardstick);
        m.resolve.push(resolve);
        m.first.push(first);
        m.nochange.push(nochange);
        m.changed.push(changed);
      }
      measured.set(`${kind} ${way}`, m);
      notes.push(
        `${kind} ${way === 'cli' ? 'CLI' : 'in one process'} ${unchangedWrites} of ${RUNS + warmup}`,
      );
    }
    if (kind === 'file')
      lines = readFileSync(join(dir, 'lists', 'bench.txt'), 'utf8')
        .split('\n')
        .filter(Boolean).length;
  }
  // `status` on the file target's database: 10,000 names, three syncs' answers.
  const status = Array.from({ length: RUNS }, () => {
    const r = timed(['-c', join(dir, 'file.yaml'), 'status']);
    expect(r.code).toBe(0);
    return r;
  });
  // For scale: what a run costs before its first query (Node's start, loading, the 10,000-name configuration).
  const startup = Array.from({ length: RUNS }, () =>
    timed(['-c', join(dir, 'file.yaml'), 'check', '--offline']),
  );
  rmSync(dir, { recursive: true, force: true });
  ns.cleanup();
  await zone.stop();
  const node = Array.from({ length: RUNS }, () => timed(['-e', '0'], false).seconds);

  const perRound = (xs: number[], base: number[]) => fmt(stats(xs.map((x, i) => x / (base[i] as number))));
  const cliTable = Object.keys(targets)
    .flatMap((kind) => {
      const m = measured.get(`${kind} cli`) as Measured;
      return [
        `| ${kind} | c-ares, whole process (yardstick) | ${fmt(stats(m.yardstick))} | | |`,
        `| ${kind} | \`dnsfence resolve\` (records nothing) | ${fmt(stats(m.resolve))} | ${perRound(m.resolve, m.yardstick)} | ≤ 1.2 |`,
        `| ${kind} | first sync (new database, empty target) | ${fmt(stats(m.first))} | ${perRound(m.first, m.yardstick)} | ≤ 2.0 |`,
        `| ${kind} | no-change sync | ${fmt(stats(m.nochange))} | ${perRound(m.nochange, m.yardstick)} | ≤ 1.3 |`,
        `| ${kind} | sync, 1 % of the names changed | ${fmt(stats(m.changed))} | ${perRound(m.changed, m.yardstick)} | |`,
      ];
    })
    .join('\n');
  const inProcessTable = Object.keys(targets)
    .flatMap((kind) => {
      const m = measured.get(`${kind} in-process`) as Measured;
      return [
        `| ${kind} | dnsfence's resolver alone (yardstick) | ${fmt(stats(m.yardstick))} | | |`,
        `| ${kind} | first sync | ${fmt(stats(m.first))} | ${perRound(m.first, m.yardstick)} | |`,
        `| ${kind} | no-change sync | ${fmt(stats(m.nochange))} | ${perRound(m.nochange, m.yardstick)} | |`,
        `| ${kind} | sync, 1 % changed | ${fmt(stats(m.changed))} | ${perRound(m.changed, m.yardstick)} | |`,
      ];
    })
    .join('\n');

  writeSection(
    'sync',
    `## 2. End-to-end sync of ${NAMES} names

Into the file target and into nftables sets (real \`nft\` in a private network namespace), each
sync resolving every name, recording every answer, computing the desired sets, diffing and pushing.

**The built CLI, a new process per run** (what a cron job or systemd timer pays). Yardstick: a
whole process of Node's c-ares resolving the same names, A and AAAA, with the same concurrency
(\`test/bench/cares.mjs\`), measured in each round right before that round's runs; ratios are
per round (min / median / max over ${RUNS} rounds).

| target | run | seconds | × c-ares process | target |
| --- | --- | --- | --- | --- |
${cliTable}

**In one process** (the engine as a long-running process runs it; round 0 warms up and is not
counted). Yardstick: dnsfence's own resolver answering every name in the same process: what
recording, planning and pushing add to resolution, without a process start.

| target | run | seconds | × resolution | target |
| --- | --- | --- | --- | --- |
${inProcessTable}

A new process pays starting Node (\`node -e 0\`: ${fmt(stats(node))} s here) and, for dnsfence,
loading it and reading the ${NAMES}-name configuration (\`dnsfence check --offline\`, which does
just that: ${fmt(stats(startup.map((x) => x.seconds)))} s), and a cold JIT.

Peak RSS of a CLI sync: ${fmt(stats(rss), 0)} MB (target ≤ 150 MB). \`dnsfence status\` on the
${NAMES}-name database after a round: ${fmt(stats(status.map((x) => x.seconds * 1000)), 0)} ms wall,
${fmt(stats(status.map((x) => x.rssMb)), 0)} MB peak RSS (targets ≤ 250 ms, ≤ 80 MB). No-change
syncs that wrote to the target (must be none): ${notes.join(', ')}. The file list held ${lines}
addresses at the end (names that changed keep their old address until retention ends).`,
  );
}, 3_600_000);
