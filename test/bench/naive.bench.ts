import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, onTestFinished } from 'vitest';
import { netns, setElements, tempDir } from '../helpers.js';
import { fmt, quantile, RUNS, stats, writeSection } from './doc.js';
import { startZone } from './zone.js';

// dnsfence against the naive way (test/bench/naive.sh: dig per name, one nft command per change),
// both into nft sets in a private network namespace, both asking the same local DNS server.

const NAMES = Number(process.env.DNSFENCE_BENCH_NAIVE_NAMES ?? 1000);
const BIN = fileURLToPath(new URL('../../bin/dnsfence.cjs', import.meta.url));
const NAIVE = fileURLToPath(new URL('./naive.sh', import.meta.url));

function seconds(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

it('against the naive way', async () => {
  if (spawnSync('dig', ['-v']).error)
    throw new Error('this benchmark needs dig: apt-get install bind9-dnsutils');
  const zone = await startZone(NAMES);
  // A benchmark that fails part-way must not leave Knot running (stopping twice is harmless).
  onTestFinished(() => zone.stop());
  const ns = netns();
  const dir = tempDir('dnsfence-naive-');
  const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example`);
  writeFileSync(join(dir.path, 'names.txt'), `${names.join('\n')}\n`);
  const config = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    config,
    `resolvers: ["127.0.0.1:${zone.port}"]\nresolve: { timeout: 2s, attempts: 2 }\nlists:\n  web:\n    names: [${names.join(', ')}]\ntargets:\n  fw:\n    type: nftables\n    table: dnsfence\n    nft: [ip, netns, exec, ${ns.name}, nft]\n`,
  );
  const naive = { first: [] as number[], same: [] as number[], changed: [] as number[] };
  const ours = { first: [] as number[], same: [] as number[], changed: [] as number[] };
  const windows: number[] = [];
  const naiveMissing: number[] = [];
  const sync = () => seconds(process.execPath, [BIN, '-c', config, '-q', 'sync']);
  const naiveRun = () =>
    seconds('sh', [
      NAIVE,
      join(dir.path, 'names.txt'),
      String(zone.port),
      join(dir.path, 'state'),
      ns.name,
      join(dir.path, 'windows'),
    ]);
  for (let run = 0; run < RUNS; run++) {
    for (const t of ['naive', 'dnsfence'])
      spawnSync('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', t]);
    rmSync(join(dir.path, 'state'), { recursive: true, force: true });
    mkdirSync(join(dir.path, 'state'));
    rmSync(join(dir.path, 'dnsfence.db'), { force: true });
    ns.exec(
      ['-f', '-'],
      'table inet naive {\n set web_v4 { type ipv4_addr; flags interval; }\n set web_v6 { type ipv6_addr; flags interval; }\n}\n',
    );

    naive.first.push(naiveRun());
    ours.first.push(sync());
    naive.same.push(naiveRun());
    ours.same.push(sync());
    await zone.change(Math.round(NAMES / 100));
    rmSync(join(dir.path, 'windows'), { force: true });
    naive.changed.push(naiveRun());
    ours.changed.push(sync());
    if (existsSync(join(dir.path, 'windows')))
      windows.push(
        ...readFileSync(join(dir.path, 'windows'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((w) => Number(w) / 1000),
      );
    // What DNS answers now, as dig last saw it: dnsfence's set holds all of it (and, until
    // retention ends, the addresses that just left); the naive set may not.
    const current = new Set(
      names.flatMap((n) =>
        readFileSync(join(dir.path, 'state', `${n}.4`), 'utf8')
          .trim()
          .split(','),
      ),
    );
    const ourSet = new Set(setElements(ns, 'inet', 'dnsfence', 'web_v4'));
    const naiveSet = new Set(setElements(ns, 'inet', 'naive', 'web_v4'));
    expect([...current].filter((a) => !ourSet.has(a))).toEqual([]);
    naiveMissing.push([...current].filter((a) => !naiveSet.has(a)).length);
  }
  await zone.stop();
  dir.cleanup();
  ns.cleanup();

  const row = (what: string, n: number[], o: number[]) =>
    `| ${what} | ${fmt(stats(n))} s | ${fmt(stats(o))} s | ${fmt(stats(n.map((x, i) => x / (o[i] as number))), 1)}× |`;
  const perRun = windows.length / RUNS;
  writeSection(
    'naive',
    `## 3. Against the naive way: ${NAMES} names, dig and one nft command per change

The naive way is \`test/bench/naive.sh\`: per name one \`dig +short\` (A and AAAA), and when a
family's answer changed, \`nft delete element\` of the old addresses and \`nft add element\` of the new ones
(the nft-dns approach). dnsfence is \`dnsfence sync\` (the built CLI, new process each time) into the
same kind of sets. Both ask the same local DNS server, one after the other.

| sync | naive way | dnsfence | dnsfence faster by |
| --- | --- | --- | --- |
${row('first (empty sets)', naive.first, ours.first)}
${row('nothing changed', naive.same, ours.same)}
${row('1 % of the names changed', naive.changed, ours.changed)}

Target: ≥ 10×. The naive way is bound by starting a \`dig\` process per name; dnsfence asks
everything over a few pooled sockets and writes one nft transaction per sync (none when nothing
changed).

**The non-atomic window.** Each changed name leaves the naive way's set without that name's
addresses between its \`delete\` and its \`add\`: ${perRun.toFixed(0)} windows per 1 % round, lasting
${windows.length ? `${quantile(windows, 0).toFixed(1)} ms (min), ${quantile(windows, 0.5).toFixed(1)} ms (median), ${quantile(windows, 0.99).toFixed(1)} ms (p99) and ${quantile(windows, 1).toFixed(1)} ms (max)` : 'none'}.
Connections to those addresses are refused meanwhile. dnsfence adds and deletes in one \`nft -f\`
transaction, which the kernel applies at once: its window is 0.

**Shared addresses.** In this zone every address serves four names (as CDN and hosting addresses
do). When one name moves away, the naive way deletes the address although other names still
answer with it: after each 1 % round its set lacked ${fmt(stats(naiveMissing), 0)} addresses that DNS
currently gives. dnsfence's set held every one of them (it removes an address only when no name
of the list has given it within the retention period).`,
  );
}, 3_600_000);
