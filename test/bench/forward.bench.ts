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
// application (test/bench/fresh.mjs) sends its first packet to each answered address the moment
// the answer arrives, and nft counts whether it went to an address already in the set.

const SECONDS = Number(process.env.DNSFENCE_BENCH_SECONDS ?? 10);
const NAMES = 1000;
const FRESH = 1000;
const FRESH_QPS = 2000;
const FRESH_CLIENT = fileURLToPath(new URL('./fresh.mjs', import.meta.url));

type Tool = 'knot' | 'dnsfence' | 'dnsmasq';
type Forwarder = 'dnsfence' | 'dnsmasq';
const FORWARDERS: Forwarder[] = ['dnsfence', 'dnsmasq'];
const TABLE: Record<Forwarder, string> = { dnsfence: 'df', dnsmasq: 'dm' };

const median = (xs: number[]) => quantile(xs, 0.5);
const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(2));

it('the forwarder beside dnsmasq', async () => {
  const ns = netns();
  const dir = tempDir('dnsfence-fwd-bench-');
  const children: ChildProcess[] = [];
  onTestFinished(async () => {
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null
          ? new Promise((exited) => {
              c.once('exit', exited);
              c.kill();
            })
          : undefined,
      ),
    );
    ns.cleanup();
    dir.cleanup();
  });
  const inNs = (command: string[]) =>
    execFileSync('ip', ['netns', 'exec', ns.name, ...command], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
  for (const cmd of [
    ['link', 'set', 'lo', 'up'],
    ['link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'out1'],
    ['link', 'set', 'out0', 'up'],
    ['link', 'set', 'out1', 'up'],
    // An IPv4 address besides loopback: dnsperf asks for the server's address only in families
    // the host has one in (AI_ADDRCONFIG).
    ['addr', 'add', '192.0.2.254/24', 'dev', 'out0'],
    ['-6', 'addr', 'add', '2001:db8:ffff::254/64', 'dev', 'out0', 'nodad'],
    // A gateway whose neighbour entry is fixed: first packets to thousands of addresses leave at
    // once, instead of queueing for neighbour discovery (which stops a socket after 256).
    [
      '-6',
      'neigh',
      'add',
      '2001:db8:ffff::1',
      'lladdr',
      '02:00:00:00:00:01',
      'dev',
      'out0',
      'nud',
      'permanent',
    ],
    ['-6', 'route', 'add', 'default', 'via', '2001:db8:ffff::1', 'dev', 'out0'],
  ])
    execFileSync('ip', ['-n', ns.name, ...cmd]);

  // Names on no list; names on a list whose addresses the sets hold already; and per tool, round
  // and kind fresh names, each with an address of its own.
  const fresh = (tool: Forwarder, round: number, kind: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${kind}${round}-${i}.${tool}.fresh.bench.example`);
  const kinds = { one: FRESH, many: FRESH, qps: FRESH_QPS };
  const records = [
    ...Array.from({ length: NAMES }, (_, i) => `p${i}.plain A 192.0.2.${(i % 250) + 1}`),
    ...Array.from({ length: NAMES }, (_, i) => `k${i}.known A 198.51.100.${(i % 250) + 1}`),
  ];
  let block = 0;
  for (const tool of FORWARDERS)
    for (let round = 0; round < RUNS; round++)
      for (const [kind, n] of Object.entries(kinds)) {
        block += 1;
        fresh(tool, round, kind, n).forEach((name, i) =>
          records.push(
            `${name}. AAAA 2001:db8:${block.toString(16)}:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`,
          ),
        );
      }
  const knot = await startKnot({ 'bench.example': { records } }, ns.name);
  onTestFinished(() => knot.stop());

  // Each tool's table: the sets of the two lists, made beforehand, and the counters of first
  // packets (to an address in the fresh set, and to one outside it).
  for (const table of Object.values(TABLE))
    execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], {
      input: `add table inet ${table}
add set inet ${table} known_v4 { type ipv4_addr; flags interval; }
add set inet ${table} fresh_v6 { type ipv6_addr; flags interval; }
add chain inet ${table} probe { type filter hook output priority 0; }
add rule inet ${table} probe udp dport 9 ip6 daddr @fresh_v6 counter
add rule inet ${table} probe udp dport 9 ip6 daddr != @fresh_v6 counter
`,
    });
  const counted = (tool: Forwarder) => {
    const packets = [
      ...inNs(['nft', 'list', 'chain', 'inet', TABLE[tool], 'probe']).matchAll(/packets (\d+)/g),
    ].map((m) => Number(m[1]));
    return { inSet: packets[0] ?? 0, missing: packets[1] ?? 0 };
  };

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
  // -v: the time of each held transaction is in the log, to compare each answer's hold with. The
  // benchmark's load is the clients': learned names are not asked again meanwhile, and the sets
  // the benchmark empties between its parts are not restored.
  const watch = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      BIN,
      '-c',
      join(dir.path, 'dnsfence.yaml'),
      '-v',
      'watch',
      '--min-interval',
      '30m',
      '--drift-interval',
      '1h',
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
  /** Per-query latencies (ms) at a rate far below any tool's limit: one query's cost, not a queue's. */
  const latencies = (out: string) =>
    [...out.matchAll(/^> NOERROR \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);

  // The known names once through each forwarder, so that their addresses are in the sets.
  for (const tool of FORWARDERS) dnsperf(tool, known, ['-n', '1', '-q', '20']);
  await new Promise((r) => setTimeout(r, 1500));

  const loads: number[] = [os.loadavg()[0] as number];
  const throughput: Record<string, number[]> = {};
  const latency: Record<string, number[]> = {};
  const cases: [string, Tool, string][] = [
    ['Knot, asked directly', 'knot', plain],
    ['dnsfence, name on no list', 'dnsfence', plain],
    ['dnsmasq, name on no list', 'dnsmasq', plain],
    ['dnsfence, listed name, address held already', 'dnsfence', known],
    ['dnsmasq, listed name (nftset)', 'dnsmasq', known],
  ];
  for (let run = 0; run < RUNS; run++) {
    // Alternating order: a machine shared with others drifts, and each tool gets its share of it.
    for (const [label, tool, data] of run % 2 === 0 ? cases : [...cases].reverse()) {
      const out = dnsperf(tool, data, ['-l', String(SECONDS), '-q', '100']);
      if (process.env.DNSFENCE_BENCH_DEBUG) writeFileSync(`/tmp/forward-bench-${tool}.out`, out);
      expect(lost(out), `${label}: queries lost`).toBeLessThan(qps(out) * SECONDS * 0.001 + 5);
      (throughput[label] ??= []).push(qps(out));
      (latency[label] ??= []).push(...latencies(dnsperf(tool, data, ['-n', '1', '-Q', '500', '-v'])));
    }
    loads.push(os.loadavg()[0] as number);
  }
  /** The application asking `names`, `width` at a time: each answer's latency (ms). */
  const application = (tool: Forwarder, names: string[], type: 'A' | 'AAAA', width: number) => {
    const r = JSON.parse(
      inNs([process.execPath, FRESH_CLIENT, String(ports[tool]), type, String(width), file('names', names)]),
    ) as { latencies: number[]; lost: number };
    expect(r.lost).toBe(0);
    return r.latencies;
  };
  // What the application waits for an answer that holds nothing (a name on no list), one at a time.
  const plainNames = Array.from({ length: NAMES }, (_, i) => `p${i}.plain.bench.example`);
  const baseline = {} as Record<Forwarder, number>;
  for (const tool of FORWARDERS) baseline[tool] = median(application(tool, plainNames, 'A', 1));

  /** The held transactions dnsfence logged since `from`: additions and milliseconds, in order. */
  const transactions = (from: number) =>
    [...watchLog.slice(from).matchAll(/forward: target fw: (\d+) addition\(s\) in ([\d.]+) ms/g)].map(
      (m) => ({
        additions: Number(m[1]),
        ms: Number(m[2]),
      }),
    );
  interface Phase {
    missing: number;
    sent: number;
    latencies: number[];
    transactions: { additions: number; ms: number }[];
  }
  /** Fresh names through one forwarder, `width` at a time, into an emptied fresh set. */
  const freshPhase = async (tool: Forwarder, names: string[], width: number): Promise<Phase> => {
    inNs(['nft', 'flush', 'set', 'inet', TABLE[tool], 'fresh_v6']);
    const before = counted(tool);
    const logFrom = watchLog.length;
    const latencies = application(tool, names, 'AAAA', width);
    await new Promise((res) => setTimeout(res, 300));
    const after = counted(tool);
    return {
      missing: after.missing - before.missing,
      sent: after.missing - before.missing + after.inSet - before.inSet,
      latencies,
      transactions: tool === 'dnsfence' ? transactions(logFrom) : [],
    };
  };
  const one: Record<Forwarder, Phase[]> = { dnsfence: [], dnsmasq: [] };
  const many: Record<Forwarder, Phase[]> = { dnsfence: [], dnsmasq: [] };
  const freshQps: Record<Forwarder, number[]> = { dnsfence: [], dnsmasq: [] };
  for (let round = 0; round < RUNS; round++) {
    for (const tool of round % 2 === 0 ? FORWARDERS : [...FORWARDERS].reverse()) {
      one[tool].push(await freshPhase(tool, fresh(tool, round, 'one', FRESH), 1));
      many[tool].push(await freshPhase(tool, fresh(tool, round, 'many', FRESH), 20));
      inNs(['nft', 'flush', 'set', 'inet', TABLE[tool], 'fresh_v6']);
      const q = file(
        'qps',
        fresh(tool, round, 'qps', FRESH_QPS).map((n) => `${n} AAAA`),
      );
      freshQps[tool].push(qps(dnsperf(tool, q, ['-n', '1', '-q', '100'])));
    }
    loads.push(os.loadavg()[0] as number);
  }
  process.kill(watch.pid as number, 'SIGTERM');
  if (process.env.DNSFENCE_BENCH_DEBUG) writeFileSync('/tmp/forward-bench-watch.log', watchLog);

  // One at a time, answer i waited for transaction i: what the hold adds beyond it.
  const overhead = one.dnsfence.flatMap((p) =>
    p.transactions.length === p.latencies.length
      ? p.latencies.map((l, i) => l - (p.transactions[i] as { ms: number }).ms - baseline.dnsfence)
      : [],
  );
  const nftOne = one.dnsfence.flatMap((p) => p.transactions.map((t) => t.ms));
  const nftMany = many.dnsfence.flatMap((p) => p.transactions.map((t) => t.ms));
  const holds = (phases: Phase[], tool: Forwarder) =>
    phases.flatMap((p) => p.latencies.map((l) => l - baseline[tool]));
  const direct = median(latency['Knot, asked directly'] as number[]);
  const ratio = (a: string, b: string) =>
    median(throughput[a] as number[]) / median(throughput[b] as number[]);

  const rows = cases.map(([label]) => {
    const q = throughput[label] as number[];
    const l = latency[label] as number[];
    const added = label.startsWith('Knot') ? '-' : ms(median(l) - direct);
    return `| ${label} | ${Math.round(median(q))} (${q.map(Math.round).join(', ')}) | ${ms(median(l))} | ${added} | ${ms(quantile(l, 0.99))} |`;
  });
  const freshRow = (tool: Forwarder, phases: Record<Forwarder, Phase[]>, width: number) => {
    const h = holds(phases[tool], tool);
    return `| ${tool}, ${width} at a time | ${phases[tool].map((p) => `${p.missing} of ${p.sent}`).join(', ')} | ${ms(median(h))} | ${ms(quantile(h, 0.99))} |`;
  };
  const batches = many.dnsfence.flatMap((p) => p.transactions.map((t) => t.additions));
  writeSection(
    'forward',
    `## 8. The forwarder beside dnsmasq

\`dnsfence watch\` with \`forward\` (one nftables target; the default hold of 200 ms) and dnsmasq
${execFileSync('dnsmasq', ['--version'], { encoding: 'utf8' }).split(' ')[2]} (\`--cache-size=0\`, so that both forward every query; \`--nftset\` for the same zones), with
the same Knot DNS behind both, in one network namespace with real nft (${execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim()}). ${RUNS} runs per case,
in alternating order; the machine is shared with other work: its 1-minute load average went
${loads.map((l) => l.toFixed(1)).join(' → ')} on ${os.cpus().length} cores during the section.

**Without new addresses.** dnsperf, 100 queries outstanding for ${SECONDS} s (queries per second), then
500 queries per second (latency: one query's cost, not a queue's).

| case | queries/s: median (each run) | latency median (ms) | added to Knot's (ms) | latency p99 (ms) |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

dnsfence / dnsmasq, queries per second: ${ratio('dnsfence, name on no list', 'dnsmasq, name on no list').toFixed(2)}× for names on no list; ${ratio('dnsfence, listed name, address held already', 'dnsmasq, listed name (nftset)').toFixed(2)}× for listed names
whose address the set holds already (dnsfence reads the answer and holds nothing; dnsmasq adds
the address to its set again on every answer).

**Fresh names**, each with an address new to the set, into an emptied set: ${FRESH} per run one at a
time and ${FRESH} per run 20 at a time. An application sends its first packet to the answered address
the moment the answer arrives; nft counts whether the set held it. The hold is an answer's latency
less what the same application waits for a name on no list (median, one at a time: dnsfence
${ms(baseline.dnsfence)} ms, dnsmasq ${ms(baseline.dnsmasq)} ms).

| forwarder | first packets not in the set, per run | hold median (ms) | hold p99 (ms) |
| --- | --- | --- | --- |
${FORWARDERS.map((t) => freshRow(t, one, 1)).join('\n')}
${FORWARDERS.map((t) => freshRow(t, many, 20)).join('\n')}

dnsfence's held transactions, as it logs them (\`-v\`): one at a time, ${nftOne.length} transactions of one
addition each, median ${ms(median(nftOne))} ms, p99 ${ms(quantile(nftOne, 0.99))} ms; 20 at a time, ${nftMany.length} transactions of
${(batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length)).toFixed(1)} additions on average (the answers of one turn of the event loop, and those that arrived while
the previous transaction ran), median ${ms(median(nftMany))} ms, p99 ${ms(quantile(nftMany, 0.99))} ms. One at a time, each answer
waited for its own transaction: what the hold adds beyond it is median ${ms(median(overhead))} ms, p99
${ms(quantile(overhead, 0.99))} ms. Queries per second over ${FRESH_QPS} fresh names, 100 outstanding: dnsfence ${Math.round(median(freshQps.dnsfence))} (${freshQps.dnsfence.map(Math.round).join(', ')}),
dnsmasq ${Math.round(median(freshQps.dnsmasq))} (${freshQps.dnsmasq.map(Math.round).join(', ')}).

Targets: queries/s ≥ 1.0× dnsmasq's; median added latency ≤ 1 ms without a hold; hold p99 ≤ the nft
transaction time + 5 ms; 0 of ${FRESH} fresh names missing from the set when the answer arrives.`,
  );
  expect([...one.dnsfence, ...many.dnsfence].every((p) => p.missing === 0 && p.sent === FRESH)).toBe(true);
  expect(watchLog).not.toMatch(/\blate\b/);
}, 3_600_000);
