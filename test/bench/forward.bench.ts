import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, onTestFinished } from 'vitest';
import { BIN, freePort, netns, startKnot, tempDir, waitFor } from '../helpers.js';
import { quantile, RUNS, writeSection } from './doc.js';

// The forwarder of `dnsfence watch` beside dnsmasq (`--cache-size=0`, so that both forward every
// query; `--nftset` for the same zones), the same Knot behind both, all inside one network
// namespace with real nft. dnsperf measures queries per second and latency; for fresh names an
// application's first packet (test/bench/fresh.mjs) is counted by nft: to an address already in the
// set, or not.

const SECONDS = Number(process.env.DNSFENCE_BENCH_SECONDS ?? 10);
const NAMES = 1000;
const FRESH = 1000;
const FRESH_QPS = 2000;
const FRESH_CLIENT = fileURLToPath(new URL('./fresh.mjs', import.meta.url));

type Tool = 'knot' | 'dnsfence' | 'dnsmasq';

it('the forwarder beside dnsmasq', async () => {
  const ns = netns();
  const dir = tempDir('dnsfence-fwd-bench-');
  const children: ChildProcess[] = [];
  onTestFinished(() => {
    for (const c of children) c.kill();
    ns.cleanup();
    dir.cleanup();
  });
  const inNs = (command: string[], input = '') =>
    execFileSync('ip', ['netns', 'exec', ns.name, ...command], {
      input,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
  for (const cmd of [
    ['link', 'set', 'lo', 'up'],
    ['link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'out1'],
    ['link', 'set', 'out0', 'up'],
    ['link', 'set', 'out1', 'up'],
    ['addr', 'add', '192.0.2.254/24', 'dev', 'out0'],
    ['route', 'add', 'default', 'dev', 'out0'],
    ['-6', 'addr', 'add', '2001:db8:ffff::254/64', 'dev', 'out0', 'nodad'],
    ['-6', 'route', 'add', 'default', 'dev', 'out0'],
  ])
    execFileSync('ip', ['-n', ns.name, ...cmd]);

  // Names on no list, names on a list (their addresses already in the set), and for each round and
  // tool fresh names (one new address each) for the first-packet count and for dnsperf.
  const fresh = (tool: string, round: number, kind: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${kind}${round}-${i}.${tool}.fresh.bench.example`);
  const address = (t: number, round: number, i: number) =>
    `2001:db8:${(t * 16 + round).toString(16)}:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`;
  const records = [
    ...Array.from({ length: NAMES }, (_, i) => `p${i}.plain A 192.0.2.${(i % 250) + 1}`),
    ...Array.from({ length: NAMES }, (_, i) => `k${i}.known A 198.51.100.${(i % 250) + 1}`),
  ];
  (['dnsfence', 'dnsmasq'] as const).forEach((tool, t) => {
    for (let round = 0; round < RUNS; round++) {
      fresh(tool, round, 'f', FRESH).forEach((n, i) =>
        records.push(`${n}. AAAA ${address(t * 2, round, i)}`),
      );
      fresh(tool, round, 'q', FRESH_QPS).forEach((n, i) =>
        records.push(`${n}. AAAA ${address(t * 2 + 1, round, i)}`),
      );
    }
  });
  const knot = await startKnot({ 'bench.example': { records } }, ns.name);
  onTestFinished(() => knot.stop());

  // Each tool's table: the sets of the two lists, made beforehand, and the counters of first packets.
  for (const table of ['df', 'dm'])
    inNs(
      ['nft', '-f', '-'],
      `add table inet ${table}
add set inet ${table} known_v4 { type ipv4_addr; flags interval; }
add set inet ${table} fresh_v6 { type ipv6_addr; flags interval; }
add chain inet ${table} probe { type filter hook output priority 0; }
add rule inet ${table} probe udp dport 9 ip6 daddr @fresh_v6 counter
add rule inet ${table} probe udp dport 9 ip6 daddr != @fresh_v6 counter
`,
    );
  const probeCounts = (table: string) => {
    const packets = [
      ...inNs(['nft', 'list', 'chain', 'inet', table, 'probe']).matchAll(/packets (\d+)/g),
    ].map((m) => Number(m[1]));
    return { inSet: packets[0] ?? 0, missing: packets[1] ?? 0 };
  };
  const resetCounters = (table: string) => inNs(['nft', 'reset', 'counters', 'table', 'inet', table]);

  const ports: Record<Tool, number> = {
    knot: knot.port,
    dnsfence: await freePort(),
    dnsmasq: await freePort(),
  };
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${knot.port}"]
forward:
  listen: ["127.0.0.1:${ports.dnsfence}"]
  rate_limit: 0
lists:
  known:
    names: ["*.known.bench.example"]
  fresh:
    names: ["*.fresh.bench.example"]
targets:
  fw:
    type: nftables
    table: df
`,
  );
  const watch = spawn(
    'ip',
    // Learned names are not asked again during the benchmark: its load is the clients'.
    [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      BIN,
      '-c',
      join(dir.path, 'dnsfence.yaml'),
      '-q',
      'watch',
      '--min-interval',
      '30m',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(watch);
  let watchLog = '';
  watch.stderr?.on('data', (d: Buffer) => (watchLog += d.toString()));
  const dnsmasq = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      `--server=127.0.0.1#${knot.port}`,
      '--cache-size=0',
      `--port=${ports.dnsmasq}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--nftset=/known.bench.example/4#inet#dm#known_v4',
      '--nftset=/fresh.bench.example/6#inet#dm#fresh_v6',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(dnsmasq);
  const dig = (tool: Tool, name: string) =>
    inNs(['dig', '@127.0.0.1', '-p', String(ports[tool]), '+short', '+tries=1', '+time=1', name, 'A']).trim();
  await waitFor(() => dig('dnsfence', 'p0.plain.bench.example') === '192.0.2.1', 20_000, 'the forwarder');
  await waitFor(() => dig('dnsmasq', 'p0.plain.bench.example') === '192.0.2.1', 20_000, 'dnsmasq');

  const file = (name: string, lines: string[]) => {
    const path = join(dir.path, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const plain = file(
    'plain',
    Array.from({ length: NAMES }, (_, i) => `p${i}.plain.bench.example A`),
  );
  const known = file(
    'known',
    Array.from({ length: NAMES }, (_, i) => `k${i}.known.bench.example A`),
  );
  const dnsperf = (tool: Tool, data: string, args: string[]) =>
    inNs(['dnsperf', '-s', '127.0.0.1', '-p', String(ports[tool]), '-d', data, ...args]);
  const qps = (out: string) => Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const lost = (out: string) => Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
  /** Per-query latencies in ms at a rate far below any tool's limit: the cost of one query, not of a queue. */
  const latencies = (out: string) =>
    [...out.matchAll(/^> NOERROR \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);

  // The known names once through each, so that their addresses are in the sets.
  for (const tool of ['dnsfence', 'dnsmasq'] as const) dnsperf(tool, known, ['-n', '1', '-q', '20']);
  await new Promise((r) => setTimeout(r, 1500));

  const load = () => os.loadavg()[0] as number;
  const loads: number[] = [];
  const throughput: Record<string, number[]> = {};
  const latency: Record<string, number[]> = {};
  const cases: [string, Tool, string][] = [
    ['knot direct', 'knot', plain],
    ['dnsfence, name on no list', 'dnsfence', plain],
    ['dnsmasq, name on no list', 'dnsmasq', plain],
    ['dnsfence, listed name, address already held', 'dnsfence', known],
    ['dnsmasq, listed name (nftset)', 'dnsmasq', known],
  ];
  for (let run = 0; run < RUNS; run++) {
    loads.push(load());
    // Alternating order: a machine shared with others drifts, and each tool gets its share of it.
    const order = run % 2 === 0 ? cases : [...cases].reverse();
    for (const [label, tool, data] of order) {
      const out = dnsperf(tool, data, ['-l', String(SECONDS), '-q', '100']);
      expect(lost(out), `${label}: queries lost`).toBeLessThan(qps(out) * SECONDS * 0.001 + 5);
      (throughput[label] ??= []).push(qps(out));
      (latency[label] ??= []).push(...latencies(dnsperf(tool, data, ['-n', '1', '-Q', '500', '-v'])));
    }
  }

  // nft's own time for one addition, spawned as dnsfence spawns it (from Node, in the namespace).
  const nftMs: number[] = [];
  const nftScript = `
    const { spawn } = require('node:child_process');
    (async () => {
      const out = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        await new Promise((r) => { const c = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'ignore'] }); c.on('close', r); c.stdin.end('add element inet df known_v4 { 203.0.113.' + (i + 1) + ' }\\n'); });
        out.push(performance.now() - t);
      }
      console.log(JSON.stringify(out));
    })();`;
  nftMs.push(...(JSON.parse(inNs([process.execPath, '-e', nftScript])) as number[]));
  inNs(['nft', 'flush', 'set', 'inet', 'df', 'known_v4']);

  // Fresh names: the first packet of each, held or not; and dnsperf over fresh names.
  const firstPackets: Record<'dnsfence' | 'dnsmasq', { inSet: number; missing: number; ms: number[] }[]> = {
    dnsfence: [],
    dnsmasq: [],
  };
  const freshQps: Record<'dnsfence' | 'dnsmasq', number[]> = { dnsfence: [], dnsmasq: [] };
  for (let round = 0; round < RUNS; round++) {
    for (const tool of ['dnsfence', 'dnsmasq'] as const) {
      const table = tool === 'dnsfence' ? 'df' : 'dm';
      resetCounters(table);
      const names = file(`fresh-${tool}-${round}`, fresh(tool, round, 'f', FRESH));
      const r = JSON.parse(
        inNs([process.execPath, FRESH_CLIENT, String(ports[tool]), 'AAAA', '20', names]),
      ) as {
        latencies: number[];
        lost: number;
      };
      expect(r.lost).toBe(0);
      await new Promise((res) => setTimeout(res, 300));
      firstPackets[tool].push({ ...probeCounts(table), ms: r.latencies });
      const q = file(
        `qps-${tool}-${round}`,
        fresh(tool, round, 'q', FRESH_QPS).map((n) => `${n} AAAA`),
      );
      freshQps[tool].push(qps(dnsperf(tool, q, ['-n', '1', '-q', '100'])));
    }
  }
  loads.push(load());
  process.kill(watch.pid as number, 'SIGTERM');

  const median = (xs: number[]) => quantile(xs, 0.5);
  const direct = median(latency['knot direct'] as number[]);
  const rows = cases.map(([label]) => {
    const q = throughput[label] as number[];
    const l = latency[label] as number[];
    return `| ${label} | ${Math.round(median(q))} (${q.map(Math.round).join(', ')}) | ${median(l).toFixed(3)} | ${label === 'knot direct' ? '-' : (median(l) - direct).toFixed(3)} | ${quantile(l, 0.99).toFixed(3)} |`;
  });
  const nft = median(nftMs);
  const warm = (tool: 'dnsfence' | 'dnsmasq') =>
    median(
      latency[
        tool === 'dnsfence' ? 'dnsfence, listed name, address already held' : 'dnsmasq, listed name (nftset)'
      ] as number[],
    );
  const freshRows = (['dnsfence', 'dnsmasq'] as const).map((tool) => {
    const all = firstPackets[tool].flatMap((r) => r.ms);
    const missing = firstPackets[tool].map((r) => r.missing);
    const sent = firstPackets[tool].map((r) => r.inSet + r.missing);
    return `| ${tool} | ${missing.join(', ')} of ${sent.join(', ')} | ${quantile(all, 0.5).toFixed(2)} | ${quantile(all, 0.99).toFixed(2)} | ${(quantile(all, 0.99) - warm(tool)).toFixed(2)} | ${Math.round(median(freshQps[tool]))} (${freshQps[tool].map(Math.round).join(', ')}) |`;
  });
  const ratio = (a: string, b: string) =>
    median(throughput[a] as number[]) / median(throughput[b] as number[]);
  const dnsfenceHold =
    quantile(
      firstPackets.dnsfence.flatMap((r) => r.ms),
      0.99,
    ) - warm('dnsfence');
  writeSection(
    'forward',
    `## 9. The forwarder beside dnsmasq

\`dnsfence watch\` with \`forward\` and dnsmasq ${execFileSync('dnsmasq', ['--version'], { encoding: 'utf8' }).split(' ')[2]} (\`--cache-size=0\`, so both forward every
query; \`--nftset\` for the same zones), with the same Knot DNS behind both, in one network namespace
with real nft (one nftables target, the default hold of 200 ms). dnsperf from the same namespace;
${RUNS} runs of ${SECONDS} s per case, in alternating order (the machine is shared: 1-minute load average
${loads.map((l) => l.toFixed(1)).join(' → ')} on ${os.cpus().length} cores during the section).

| case | queries/s: median (each run) | latency median (ms) | added to Knot's (ms) | latency p99 (ms) |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Queries per second at 100 queries outstanding; latency at 500 queries per second (one query's cost,
not a queue's). Names on no list: dnsfence / dnsmasq = ${ratio('dnsfence, name on no list', 'dnsmasq, name on no list').toFixed(2)}×; listed names whose address
the set holds already (dnsfence reads the answer, records it, holds nothing; dnsmasq adds to its
set on every answer): ${ratio('dnsfence, listed name, address already held', 'dnsmasq, listed name (nftset)').toFixed(2)}×.

**Fresh names**, each with an address new to the set: ${FRESH} per run, 20 at a time, an application's first
packet sent to the answered address the moment the answer arrives and counted by nft (to an address
in the set, or not); and dnsperf over ${FRESH_QPS} other fresh names (100 outstanding).

| tool | first packets not in the set, per run | latency median (ms) | p99 (ms) | p99 hold (ms, p99 − warm median) | queries/s, fresh names |
| --- | --- | --- | --- | --- | --- |
${freshRows.join('\n')}

One \`nft -f\` adding one element, spawned from Node in the namespace: median ${nft.toFixed(2)} ms
(p90 ${quantile(nftMs, 0.9).toFixed(2)} ms) over 50. Targets: queries/s ≥ 1.0× dnsmasq's; median added latency ≤ 1 ms
without a hold; hold p99 ≤ nft transaction time + 5 ms = ${(nft + 5).toFixed(2)} ms (measured: ${dnsfenceHold.toFixed(2)} ms);
0 of ${FRESH} fresh names missing from the set when the answer arrives.`,
  );
  expect(firstPackets.dnsfence.every((r) => r.missing === 0)).toBe(true);
  expect(watchLog).not.toMatch(/late/);
}, 3_600_000);
