import { X509Certificate } from 'node:crypto';
import { expect, it } from 'vitest';
import { MikrotikAdapter } from '../../adapters/mikrotik/adapter.js';
import { OpnsenseAdapter } from '../../adapters/opnsense/adapter.js';
import type { Change } from '../../src/model/change.js';
import type { ListPlan } from '../../src/planner/target.js';
import { planFor } from '../plans.js';
import { FakeOpnsense } from '../fakes/opnsense.js';
import { FakeRouterOS } from '../fakes/routeros.js';
import { selfSignedCert, tempDir } from '../helpers.js';
import { fmt, RUNS, stats, writeSection } from './doc.js';

// The firewall adapters at scale, against the fakes of test/fakes (the real wire protocol and HTTP
// API): 5,000 entries into RouterOS, pipelined and one command at a time, with no added latency
// and with a 2 ms round trip (a router across a LAN or a short WAN hop); 5,000 entries into an
// OPNsense alias, counting what each sync writes.

const ENTRIES = Number(process.env.DNSFENCE_BENCH_ENTRIES ?? 5000);

/** Distinct addresses from the documentation ranges: the 762 IPv4 hosts there, then IPv6 hosts. */
function addresses(n: number): string[] {
  const v4 = ['192.0.2', '198.51.100', '203.0.113'].flatMap((net) =>
    Array.from({ length: 254 }, (_, i) => `${net}.${i + 1}`),
  );
  return Array.from(
    { length: n },
    (_, i) => v4[i] ?? `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`,
  );
}

const change = (target: string, a: string, action: 'added' | 'removed' = 'added'): Change => ({
  target,
  list: 'bench',
  action,
  address: a,
  names: [`n${a}.bench.example`],
  reason: action === 'added' ? 'dns' : 'expired',
});

function update(
  target: string,
  add: string[],
  remove: string[],
  desired: string[],
): Partial<ListPlan> & { list: string } {
  return {
    list: 'bench',
    add: add.map((a) => change(target, a)),
    remove: remove.map((a) => change(target, a, 'removed')),
    desired,
  };
}

async function routerOs(pipeline: number, delayMs: number): Promise<{ seconds: number; inFlight: number }> {
  const ros = new FakeRouterOS();
  ros.delayMs = delayMs;
  await ros.start();
  process.env.DNSFENCE_BENCH_ROS_PW = ros.password;
  const adapter = new MikrotikAdapter(
    {
      type: 'mikrotik',
      name: 'edge',
      timeoutMs: 30_000,
      lists: new Map([['bench', 'bench']]),
      settings: {
        host: '127.0.0.1',
        port: ros.port,
        tls: false,
        username: ros.user,
        password: { key: 'targets.edge.password_env', env: 'DNSFENCE_BENCH_ROS_PW' },
      },
    },
    { pipeline },
  );
  const all = addresses(ENTRIES);
  const t = performance.now();
  const snapshot = await adapter.read([{ list: 'bench', remote: 'bench' }]);
  const r = await adapter.apply(planFor(adapter, snapshot, [update('edge', all, [], all)]));
  const seconds = (performance.now() - t) / 1000;
  expect(r.error).toBeUndefined();
  expect(r.applied).toHaveLength(ENTRIES);
  expect(ros.list('ip', 'bench').length + ros.list('ipv6', 'bench').length).toBe(ENTRIES);
  await adapter.close();
  await ros.stop();
  return { seconds, inFlight: ros.maxInFlight };
}

it('adapters at scale', async () => {
  const rows: string[] = [];
  for (const delayMs of [0, 2]) {
    const piped: number[] = [];
    const serial: number[] = [];
    let inFlight = 0;
    for (let run = 0; run < RUNS; run++) {
      const p = await routerOs(32, delayMs);
      piped.push(p.seconds);
      inFlight = Math.max(inFlight, p.inFlight);
      serial.push((await routerOs(1, delayMs)).seconds);
    }
    const ratio = stats(serial.map((s, i) => s / (piped[i] as number)));
    rows.push(
      `| ${delayMs === 0 ? 'none (loopback)' : `${delayMs} ms per command`} | ${fmt(stats(piped))} s (up to ${inFlight} in flight) | ${fmt(stats(serial))} s | ${fmt(ratio, 1)}× |`,
    );
  }

  const certDir = tempDir();
  const certs = selfSignedCert(certDir.path);
  const fingerprint = new X509Certificate(certs.cert).fingerprint256;
  const all = addresses(ENTRIES);
  const opnRows: string[] = [];
  const firstS: number[] = [];
  const noneS: number[] = [];
  const someS: number[] = [];
  const counts = { first: '', none: '', some: '' };
  for (let run = 0; run < RUNS; run++) {
    const opn = new FakeOpnsense();
    await opn.start(certs);
    process.env.DNSFENCE_BENCH_OPN_KEY = opn.key;
    process.env.DNSFENCE_BENCH_OPN_SECRET = opn.secret;
    const adapter = () =>
      new OpnsenseAdapter({
        type: 'opnsense',
        name: 'opn',
        timeoutMs: 30_000,
        lists: new Map([['bench', 'bench']]),
        settings: {
          url: opn.url,
          tls: { fingerprint, insecure: false },
          key: { key: 'targets.opn.key_env', env: 'DNSFENCE_BENCH_OPN_KEY' },
          secret: { key: 'targets.opn.secret_env', env: 'DNSFENCE_BENCH_OPN_SECRET' },
          adopt: false,
        },
      });
    // One sync = read, then apply what changed; a fresh adapter each time, as each CLI run has.
    const sync = async (add: string[], remove: string[], desired: string[]) => {
      const a = adapter();
      const before = { writes: opn.writes, reconfigures: opn.reconfigures, requests: opn.requests.length };
      const t = performance.now();
      const snapshot = await a.read([{ list: 'bench', remote: 'bench' }]);
      if (add.length + remove.length > 0) {
        const r = await a.apply(planFor(a, snapshot, [update('opn', add, remove, desired)]));
        expect(r.error).toBeUndefined();
      }
      await a.close();
      return {
        seconds: (performance.now() - t) / 1000,
        text: `${opn.writes - before.writes} set_item, ${opn.reconfigures - before.reconfigures} reconfigure, ${opn.requests.length - before.requests} requests in all`,
      };
    };
    const first = await sync(all, [], all);
    firstS.push(first.seconds);
    counts.first = first.text;
    const none = await sync([], [], all);
    noneS.push(none.seconds);
    counts.none = none.text;
    // 1 % of the entries replaced by new ones.
    const k = Math.round(ENTRIES / 100);
    const fresh = Array.from({ length: k }, (_, i) => `2001:db8:ffff:${i.toString(16)}::1`);
    const next = [...all.slice(k), ...fresh];
    const some = await sync(fresh, all.slice(0, k), next);
    someS.push(some.seconds);
    counts.some = some.text;
    expect(opn.byName('bench')?.content.length).toBe(next.length);
    await opn.stop();
  }
  certDir.cleanup();
  opnRows.push(
    `| first sync, ${ENTRIES} entries | ${fmt(stats(firstS))} s | ${counts.first} |`,
    `| no change | ${fmt(stats(noneS))} s | ${counts.none} |`,
    `| 1 % replaced | ${fmt(stats(someS))} s | ${counts.some} |`,
  );

  writeSection(
    'adapters',
    `## 6. Adapters at scale

RouterOS: ${ENTRIES} new entries (IPv4 and IPv6) into one address list of the fake RouterOS, which
speaks the API wire protocol; the adapter pipelines up to 32 tagged commands, the baseline sends one
and waits for its answer. The fake can hold each answer back to stand in for the round trip to a
real router.

| added latency | pipelined | one at a time | ratio |
| --- | --- | --- | --- |
${rows.join('\n')}

OPNsense: one host alias of ${ENTRIES} entries in the fake OPNsense (its REST API over TLS). Each
sync reads the alias, then writes the whole list with one \`set_item\` and applies it with one
\`reconfigure\`; nothing is written when nothing changed, since every write is a configuration
revision on the firewall.

| sync | time | writes |
| --- | --- | --- |
${opnRows.join('\n')}`,
  );
}, 3_600_000);
