import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneEntry, TestZoneServer } from '../fakes/dns.js';
import { cli, startZone, tempDir } from '../helpers.js';
import { campaignCase, difference, listSet, recordSecretScan } from './campaign.js';

let zone: TestZoneServer;
let port: number;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
});
afterAll(() => zone.stop());
beforeEach(() => {
  dir = tempDir();
  zone.set('www.example.com', { a: ['192.0.2.1'], ttl: 60 });
});
afterEach(() => dir.cleanup());

function config(resolver = `127.0.0.1:${port}`, timeout = '1s'): void {
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["${resolver}"]\nresolve: { timeout: ${timeout}, attempts: 1 }\nlists:\n  web:\n    names: [www.example.com]\ntargets:\n  out: { type: file, dir: lists }\n`,
  );
}
const sync = () => cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync']);
const list = () => listSet(join(dir.path, 'lists', 'web.txt'));

interface DnsCase {
  name: string;
  entry?: TestZoneEntry;
  extra?: Record<string, TestZoneEntry>;
  resolver?: () => string;
  /** The resolver timeout, when the case needs more than 1 s on a loaded machine. */
  timeout?: string;
  exit: number;
  message: RegExp;
  /** The list after the faulty sync; the baseline is 192.0.2.1. */
  expect: (addresses: Set<string>) => Set<string>;
}

const same = (s: Set<string>) => s;
// dns2's encoder takes the hex form of an IPv4-mapped address (::ffff:a00:1 is ::ffff:10.0.0.1).
const mapped = (hex: string) => ({ a: [] as string[], aaaa: [`::ffff:${hex}`], ttl: 60 });

const CASES: DnsCase[] = [
  {
    name: 'timeout',
    entry: { behaviour: 'drop' },
    exit: 3,
    message: /www\.example\.com A: timeout/,
    expect: same,
  },
  {
    name: 'SERVFAIL',
    entry: { behaviour: 'servfail' },
    exit: 3,
    message: /A: servfail \(SERVFAIL/,
    expect: same,
  },
  {
    name: 'REFUSED',
    entry: { behaviour: 'refused' },
    exit: 3,
    message: /A: refused \(REFUSED/,
    expect: same,
  },
  {
    name: 'NXDOMAIN (kept until retention)',
    entry: { behaviour: 'nxdomain' },
    exit: 0,
    message:
      /^warn: www\.example\.com: no address \(NXDOMAIN for A, NXDOMAIN for AAAA\); a typo, or a retired host\?/,
    expect: same,
  },
  {
    name: 'NODATA (kept until retention)',
    entry: { a: [], ttl: 60 },
    exit: 0,
    message:
      /^warn: www\.example\.com: no address \(NODATA for A, NODATA for AAAA\); a typo, or a retired host\?/,
    expect: same,
  },
  {
    name: 'truncated answer retried over TCP',
    entry: { behaviour: 'truncate', a: Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`), ttl: 60 },
    exit: 0,
    message: /^$/,
    expect: (s) => new Set([...s, ...Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`)]),
  },
  {
    name: 'TCP resolver refuses the connection',
    resolver: () => 'tcp://127.0.0.1:9',
    exit: 3,
    message: /A: refused \(TCP connection refused/,
    expect: same,
  },
  {
    name: 'garbage bytes',
    entry: { behaviour: 'garbage' },
    exit: 3,
    message: /A: malformed \(undecodable answer/,
    expect: same,
  },
  {
    name: 'answer with a mismatched ID (spoof)',
    entry: { behaviour: 'wrong-id', a: ['203.0.113.66'] },
    exit: 3,
    message: /A: timeout/,
    expect: same,
  },
  {
    name: 'CNAME loop',
    entry: { cname: 'loop.example.com' },
    extra: { 'loop.example.com': { cname: 'www.example.com' } },
    exit: 3,
    message: /A: malformed \(CNAME loop/,
    expect: same,
  },
  {
    name: 'CNAME chain of 20',
    entry: { cname: 'c1.example.com' },
    extra: Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [
        `c${i + 1}.example.com`,
        i < 19 ? { cname: `c${i + 2}.example.com` } : { a: ['203.0.113.20'] },
      ]),
    ),
    exit: 3,
    message: /A: malformed \(CNAME chain longer than 8/,
    expect: same,
  },
  {
    name: '500 addresses in one answer (capped at 64 per name)',
    timeout: '10s',
    entry: {
      a: Array.from({ length: 500 }, (_, i) => `203.0.${113 - Math.floor(i / 250)}.${(i % 250) + 1}`).map(
        (a) => a.replace('203.0.112.', '198.51.100.'),
      ),
      ttl: 60,
    },
    exit: 0,
    message: /^$/,
    expect: () => new Set(['cap:64']),
  },
  ...(
    ['10.0.0.1', '127.0.0.1', '169.254.1.1', '224.0.0.1', '0.0.0.0', '240.0.0.1', '100.64.0.1'] as const
  ).map((address): DnsCase => ({
    name: `${address} answer (answer hygiene)`,
    entry: { a: [address], ttl: 60 },
    exit: 0,
    message: new RegExp(`web: dropped answer www\\.example\\.com: ${address.replace(/\./g, '\\.')} \\(`),
    expect: same,
  })),
  {
    name: 'IPv4-mapped IPv6 answer ::ffff:10.0.0.1',
    entry: mapped('a00:1'),
    exit: 0,
    message: /dropped answer www\.example\.com: ::ffff:a00:1 \(private\)/,
    expect: same,
  },
  {
    name: 'answer just under the timeout (800 ms of 1 s)',
    entry: { a: ['192.0.2.2'], delayMs: 800, ttl: 60 },
    exit: 0,
    message: /^$/,
    expect: (s) => new Set([...s, '192.0.2.2']),
  },
  {
    name: 'answer just over the timeout (1300 ms of 1 s)',
    entry: { a: ['192.0.2.2'], delayMs: 1300, ttl: 60 },
    exit: 3,
    message: /A: timeout/,
    expect: same,
  },
];

describe('fault campaign: DNS', () => {
  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}, one clear line, no address lost or gained`, () =>
      campaignCase({ group: 'DNS', name: c.name, runs: 1 }, async (measure) => {
        config(undefined, c.timeout);
        const baseline = await sync();
        expect(baseline.code).toBe(0);
        const before = list();
        expect(before).toEqual(new Set(['192.0.2.1']));
        if (c.entry) zone.set('www.example.com', c.entry);
        for (const [n, e] of Object.entries(c.extra ?? {})) zone.set(n, e);
        if (c.resolver) config(c.resolver(), c.timeout);
        const r = await sync();
        const after = list();
        const expected = c.expect(before);
        const lost = expected.has('cap:64')
          ? after.size === 64
            ? 0
            : Math.abs(after.size - 64)
          : difference(after, expected);
        measure.outcome = `exit ${r.code}`;
        measure.lost = lost;
        expect(r.code).toBe(c.exit);
        const lines = r.stderr.trim() === '' ? [] : r.stderr.trim().split('\n');
        // One line per failed question at most (A and AAAA), never a stack trace.
        expect(lines.length).toBeLessThanOrEqual(2);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr.trim()).toMatch(c.message);
        expect(lost).toBe(0);
      }));
  }
});

afterAll(() => recordSecretScan('DNS faults'));
