import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { faultCase, recordSecretScan } from './faults/campaign.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RouterOsSession } from '../adapters/mikrotik/session.js';
import { MikrotikAdapter } from '../adapters/mikrotik/adapter.js';
import { change, planFor } from './plans.js';
import type { TestZoneServer } from './fakes/dns.js';
import { FakeRouterOS } from './fakes/routeros.js';
import { cli, selfSignedCert, startZone, tempDir, type CliRun } from './helpers.js';

const fault = faultCase('RouterOS');

let zone: TestZoneServer;
let dnsPort: number;
let dir: ReturnType<typeof tempDir>;
let certs: ReturnType<typeof selfSignedCert>;
let ros: FakeRouterOS;

beforeAll(async () => {
  ({
    zone,
    spec: { port: dnsPort },
  } = await startZone());
  certs = selfSignedCert(tempDir().path);
});
afterAll(() => zone.stop());

beforeEach(async () => {
  dir = tempDir();
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:DB8::1'], ttl: 60 });
  zone.set('api.example.com', { a: ['198.51.100.1', '198.51.100.2'], ttl: 60 });
  ros = new FakeRouterOS();
});

afterEach(async () => {
  await ros.stop();
  dir.cleanup();
});

async function start(tls = false, names = '[www.example.com, api.example.com]', extra = ''): Promise<void> {
  await ros.start(tls ? { tls: certs } : {});
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${dnsPort}"]
resolve: { timeout: 2s, attempts: 1 }
lists:
  web:
    names: ${names}
targets:
  edge:
    type: mikrotik
    host: 127.0.0.1
    port: ${ros.port}
    username: dnsfence
    password_env: EDGE_PASSWORD
    timeout: 2s
    lists: { web: web-allow }
${extra}`,
  );
}

const run = async (...args: string[]): Promise<CliRun> => {
  const r = await cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args], {
    env: { EDGE_PASSWORD: ros.password },
  });
  expect(r.stdout + r.stderr).not.toContain(ros.password);
  return r;
};
const entries = (family: 'ip' | 'ipv6' = 'ip') =>
  ros.list(family, 'web-allow').map((e) => `${e.address} ${e.comment ?? ''}`.trim());

describe('MikroTik adapter against a fake RouterOS', () => {
  it('adds static, commented entries to /ip and /ipv6 lists; an unchanged second sync writes nothing', async () => {
    await start();
    const first = await run('sync');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(entries('ip')).toEqual([
      '192.0.2.1 dnsfence www.example.com',
      '198.51.100.1 dnsfence api.example.com',
      '198.51.100.2 dnsfence api.example.com',
    ]);
    expect(entries('ipv6')).toEqual(['2001:db8::1/128 dnsfence www.example.com']);
    expect(ros.entries.every((e) => !e.dynamic && e.timeout === undefined)).toBe(true);
    // Reads are filtered queries, never a dump of the table.
    expect(
      ros.commands.filter((c) => c[0]!.endsWith('/print')).every((c) => c.includes('?list=web-allow')),
    ).toBe(true);
    const writes = ros.writes;
    const second = await run('sync');
    expect(second).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(ros.writes).toBe(writes);
  });

  fault('restores an entry deleted on the router by hand (drift)', async () => {
    await start();
    await run('sync');
    const gone = ros.entries.findIndex((e) => e.address === '198.51.100.2');
    ros.entries.splice(gone, 1);
    const r = await run('sync');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'edge  web  + 198.51.100.2  api.example.com  (drift: missing on the target; restored)',
    );
    expect(entries('ip')).toContain('198.51.100.2 dnsfence api.example.com');
  });

  it('a router reboot loses nothing: entries have no timeout', async () => {
    await start();
    await run('sync');
    ros.reboot();
    expect(entries('ip')).toHaveLength(3);
  });

  it('never touches hand-made or dynamic entries; a hand-made entry holding a desired address counts as present', async () => {
    await start();
    ros.add('web-allow', '192.0.2.1', { comment: 'office printer, by hand' });
    ros.add('web-allow', '203.0.113.50');
    ros.add('web-allow', '203.0.113.51', { dynamic: true, comment: 'www.example.org' });
    const r = await run('sync');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('192.0.2.1');
    expect(entries('ip')).toEqual([
      '192.0.2.1 office printer, by hand',
      '203.0.113.50',
      '203.0.113.51 www.example.org',
      '198.51.100.1 dnsfence api.example.com',
      '198.51.100.2 dnsfence api.example.com',
    ]);
    expect((await run('sync')).stdout).toBe('');
  });

  it('updates the comment with set when the names behind an address change', async () => {
    await start();
    await run('sync');
    zone.set('www.example.com', { a: ['192.0.2.1', '198.51.100.1'], aaaa: ['2001:db8::1'], ttl: 60 });
    // The plan shows the relabel the sync then performs, in the same words.
    const relabel =
      'edge  relabel 198.51.100.1 in web-allow: api.example.com → api.example.com,www.example.com';
    const plan = await run('plan');
    expect(plan.stdout).toContain(relabel);
    expect(ros.commands.filter((c) => c[0] === '/ip/firewall/address-list/set')).toHaveLength(0);
    const r = await run('sync');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(relabel);
    expect(entries('ip')).toContain('198.51.100.1 dnsfence api.example.com,www.example.com');
    expect(ros.commands.filter((c) => c[0] === '/ip/firewall/address-list/set')).toHaveLength(1);
    expect((await run('plan')).stdout).toBe('edge: no changes\n');
  });

  it('removes expired entries and duplicates, keeping one', async () => {
    await start(false, '[www.example.com, api.example.com]', 'retention: 1s\n');
    await run('sync');
    ros.add('web-allow', '192.0.2.1', { comment: 'dnsfence www.example.com' });
    ros.add('web-allow', '192.0.2.1/32', { comment: 'dnsfence www.example.com' });
    zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 60 });
    await new Promise((r) => setTimeout(r, 1100));
    // The clean-up of the duplicates is in the plan, as the sync then does it.
    const plan = await run('plan');
    expect(plan.stdout).toMatch(
      /^edge {2}remove 2 duplicate entries of 192\.0\.2\.1 in web-allow \(\*\w+, \*\w+\)$/m,
    );
    const r = await run('sync');
    expect(r.stdout).toMatch(/^edge {2}remove 2 duplicate entries of 192\.0\.2\.1 in web-allow/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('edge  web  - 198.51.100.2  api.example.com  (expired');
    expect(entries('ip')).toEqual([
      '192.0.2.1 dnsfence www.example.com',
      '198.51.100.1 dnsfence api.example.com',
    ]);
  });

  fault('a wrong password is one line naming the target, exit 1', async () => {
    await start();
    const r = await cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync'], { env: { EDGE_PASSWORD: 'wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: target edge: login as dnsfence on 127.0.0.1:${ros.port} failed: Username or password is invalid`,
    ]);
  });

  fault(
    'a router that refuses the connection is one line naming the target, exit 1, and nothing recorded',
    async () => {
      await start();
      expect((await run('sync')).code).toBe(0);
      const before = entries();
      await ros.stop();
      zone.set('www.example.com', { a: ['192.0.2.77'], ttl: 60 });
      const r = await run('sync');
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^error: target edge: .*127\\.0\\.0\\.1:${ros.port}.*refused`)),
      ]);
      const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
      expect(db.prepare("SELECT count(*) AS n FROM audit WHERE address = '192.0.2.77'").get()).toEqual({
        n: 0,
      });
      db.close();
      expect(entries()).toEqual(before);
    },
  );

  fault('survives !fatal, a connection dropped mid-reply and a router that stops answering', async () => {
    await start();
    ros.failNext(/print$/, 'fatal');
    const fatal = await run('sync');
    expect(fatal.code).toBe(1);
    expect(fatal.stderr).toMatch(/target edge: .*the router closed the connection/);
    ros.add('web-allow', '203.0.113.1');
    ros.add('web-allow', '203.0.113.2');
    ros.failNext(/^\/ip\/firewall\/address-list\/print$/, 'drop-mid-reply', 1);
    const dropped = await run('sync');
    expect(dropped.code).toBe(1);
    expect(dropped.stderr).toMatch(/target edge: .*(closed the connection|ECONNRESET|connection)/);
    ros.failNext(/print$/, 'stall');
    const stalled = await run('sync');
    expect(stalled.code).toBe(1);
    expect(stalled.stderr).toMatch(/no answer within 2000 ms/);
    // Nothing was written on any of them; a clean sync then fills the list.
    expect((await run('sync')).code).toBe(0);
    expect(entries('ip')).toHaveLength(5);
  });

  fault(
    'pipelines commands; a connection lost part-way records only what the router confirmed, and the next sync completes it',
    async () => {
      const names = Array.from({ length: 40 }, (_, i) => `h${i}.example.com`);
      names.forEach((n, i) => zone.set(n, { a: [`203.0.113.${i + 1}`], ttl: 60 }));
      await start(false, `[${names.join(', ')}]`);
      ros.delayMs = 5;
      ros.failNext(/\/add$/, 'fatal', 10);
      const partial = await run('sync');
      expect(partial.code).toBe(1);
      expect(partial.stderr).toMatch(
        /connection lost after \d+ of 40 changes .*; the next sync completes the rest/,
      );
      expect(ros.maxInFlight).toBeGreaterThan(1);
      const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
      const audited = (
        db.prepare("SELECT count(*) AS n FROM audit WHERE action = 'added'").get() as { n: number }
      ).n;
      db.close();
      expect(audited).toBe(entries('ip').length);
      expect(audited).toBeLessThan(40);
      const next = await run('sync');
      expect(next.code).toBe(0);
      expect(entries('ip')).toHaveLength(40);
    },
  );

  fault(
    'API-SSL: pins a fingerprint or trusts a CA; refuses anything else before sending the password',
    async () => {
      const fingerprint = new X509Certificate(certs.cert).fingerprint256;
      await start(true, undefined, `    tls: { fingerprint: "${fingerprint}" }\n`);
      expect((await run('sync')).code).toBe(0);
      writeFileSync(
        join(dir.path, 'dnsfence.yaml'),
        readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(
          /fingerprint: "[^"]+"/,
          `fingerprint: "${'AB:'.repeat(31)}CD"`,
        ),
      );
      const wrong = await run('sync');
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/target edge: certificate fingerprint .* does not match the pinned AB:AB/);
      writeFileSync(
        join(dir.path, 'dnsfence.yaml'),
        readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(
          /tls: \{[^}]*\}/,
          `tls: { ca: ${certs.certFile} }`,
        ),
      );
      expect((await run('sync')).code).toBe(0);
      writeFileSync(
        join(dir.path, 'dnsfence.yaml'),
        readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(/tls: \{[^}]*\}/, 'tls: true'),
      );
      const untrusted = await run('sync');
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(
        /target edge: cannot connect to .*certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
      );
    },
  );

  it('check reads the version and warns about a group with more than api,read,write', async () => {
    await start();
    ros.policy = 'api,read,write,policy,sensitive,!ftp';
    const r = await run('check');
    expect(r.stdout).toMatch(
      /ok\s+target edge: RouterOS 7\.19\.1 \(stable\); user dnsfence in group dnsfence \(policy api,read,write,policy,sensitive\); WARNING: the group also grants policy, sensitive/,
    );
    expect(ros.writes).toBe(0);
  });
});

describe('RouterOS session (node-routeros with its defects mended)', () => {
  fault('an empty print answered with !empty resolves with no rows instead of crashing', async () => {
    await ros.start();
    for (const emitEmpty of [true, false]) {
      ros.emitEmpty = emitEmpty;
      const s = await RouterOsSession.open({
        target: 't',
        host: '127.0.0.1',
        port: ros.port,
        tls: false,
        user: ros.user,
        password: ros.password,
        timeoutMs: 2000,
      });
      expect(await s.command(['/ip/firewall/address-list/print', '?list=nothing'])).toEqual([]);
      await s.close();
    }
  });

  fault('an add that meets an existing entry counts as present after re-reading', async () => {
    await ros.start();
    process.env.ROS_TEST_PW = ros.password;
    const adapter = new MikrotikAdapter({
      type: 'mikrotik',
      name: 'edge',
      timeoutMs: 2000,
      lists: new Map([['web', 'web']]),
      settings: {
        host: '127.0.0.1',
        port: ros.port,
        tls: false,
        username: ros.user,
        password: { key: 'k', env: 'ROS_TEST_PW' },
      },
    });
    const snapshot = await adapter.read([{ list: 'web', remote: 'web' }]);
    ros.add('web', '192.0.2.9', { comment: 'dnsfence www.example.com' });
    const added = change('192.0.2.9', { target: 'edge' });
    const r = await adapter.apply(
      planFor(adapter, snapshot, [{ list: 'web', add: [added], desired: ['192.0.2.9'] }]),
    );
    expect(r).toEqual({ applied: [added], done: [] });
    await adapter.close();
  });
});

afterAll(() => recordSecretScan('RouterOS suite'));
