import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import type { Outcome, LookupResult } from '../src/resolver/types.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { recordLookups } from '../src/store/observations.js';
import { cli, startZone, tempDir } from './helpers.js';

let zone: TestZoneServer;
let port: number;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
});

afterAll(async () => {
  await zone.stop();
});

beforeEach(() => {
  dir = tempDir();
  zone.set('fixed.test.example', { a: ['192.0.2.10'], ttl: 60 });
  zone.set('www.test.example', { a: ['192.0.2.20'], aaaa: ['2001:db8::20'], ttl: 60 });
  zone.set('api.test.example', { a: ['198.51.100.30'], ttl: 60 });
  zone.set('inside.test.example', { a: ['10.0.0.1', '127.0.0.2', '192.0.2.40'], ttl: 60 });
});

afterEach(() => dir.cleanup());

const config = () => join(dir.path, 'dnsfence.yaml');

function writeConfig(lists: string): void {
  writeFileSync(
    config(),
    `resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 2s, attempts: 1 }
lists:
${lists}
targets:
  a:
    type: file
    dir: lists-a
`,
  );
}

const run = (...args: string[]) => cli(['-c', config(), ...args]);

function lookup(name: string, outcome: Outcome, addresses: string[] = []): LookupResult {
  return {
    name,
    family: 'ipv4',
    outcome,
    addresses: addresses.map((address) => ({ address, ttl: 60 })),
    ttl: 60,
    chain: [name],
    resolver: 'test',
  };
}

describe('negative answers in the store', () => {
  let db: Db;
  beforeEach(() => {
    const path = join(dir.path, 'dnsfence.db');
    db = openDatabase(path);
    migrate(db, path);
  });
  afterEach(() => db.close());

  const at = (minutes: number) => new Date(Date.parse('2026-11-28T00:00:00Z') + minutes * 60_000);
  const pass = (minutes: number, ...results: LookupResult[]) =>
    db.transaction(() => recordLookups(db, results, at(minutes)))();
  const rows = () =>
    db.prepare('SELECT name, outcome, first_at, last_at, count FROM negative_answers ORDER BY id').all() as {
      name: string;
      outcome: string;
      first_at: string;
      last_at: string;
      count: number;
    }[];

  it('are kept as intervals: they grow with changes, not with runs', () => {
    for (let i = 0; i < 20; i++)
      pass(i, lookup('gone.example', 'nxdomain'), lookup('ok.example', 'answer', ['192.0.2.1']));
    expect(rows()).toEqual([
      {
        name: 'gone.example',
        outcome: 'nxdomain',
        first_at: at(0).toISOString(),
        last_at: at(19).toISOString(),
        count: 20,
      },
    ]);
    // An address in between, a failure in between, or the other negative answer: a new interval each.
    pass(20, lookup('gone.example', 'answer', ['192.0.2.2']));
    pass(21, lookup('gone.example', 'nxdomain'));
    pass(22, lookup('gone.example', 'timeout'));
    pass(23, lookup('gone.example', 'nxdomain'));
    pass(24, lookup('gone.example', 'nodata'));
    pass(25, lookup('gone.example', 'nodata'));
    expect(rows().map((r) => `${r.outcome} x${r.count}`)).toEqual([
      'nxdomain x20',
      'nxdomain x1',
      'nxdomain x1',
      'nodata x2',
    ]);
    // Answers, not failures: the name is not failing, and no failure was recorded for them.
    expect(db.prepare("SELECT failing_since FROM lookups WHERE name = 'gone.example'").get()).toEqual({
      failing_since: null,
    });
    expect(db.prepare('SELECT outcome, count FROM failures').all()).toEqual([
      { outcome: 'timeout', count: 1 },
    ]);
  });

  it('are recorded the same into a fresh store as into one that knows other names', () => {
    pass(0, lookup('gone.example', 'nxdomain'));
    pass(1, lookup('gone.example', 'nxdomain'));
    const fresh = rows();
    db.exec('DELETE FROM negative_answers; DELETE FROM lookups');
    pass(0, lookup('other.example', 'answer', ['192.0.2.1']));
    db.exec('DELETE FROM negative_answers');
    pass(0, lookup('gone.example', 'nxdomain'));
    pass(1, lookup('gone.example', 'nxdomain'));
    expect(rows()).toEqual(fresh);
  });
});

describe('history of a name', () => {
  it('shows the NXDOMAIN and NODATA answers a misspelt name got, per family, as intervals', async () => {
    writeConfig('  web:\n    names: [fixed.test.example, fixd.test.example]\n');
    for (let i = 0; i < 3; i++) expect((await run('sync')).code).toBe(0);
    const misspelt = await run('history', 'fixd.test.example');
    expect(misspelt.code).toBe(0);
    expect(misspelt.stdout).not.toContain('no answer recorded');
    expect(misspelt.stdout).toMatch(/^ {2}no address answered in this period$/m);
    expect(misspelt.stdout).toMatch(/^ {2}NXDOMAIN A x3 {2}\S+ \S+ \.\. \S+ \S+ {2}\(no such name\)$/m);
    expect(misspelt.stdout).toMatch(/^ {2}NXDOMAIN AAAA x3 /m);
    const fixed = await run('history', 'fixed.test.example');
    expect(fixed.stdout).toMatch(/^ {2}192\.0\.2\.10 /m);
    expect(fixed.stdout).toMatch(/^ {2}NODATA AAAA x3 .*\(the name has no AAAA record\)$/m);
    const doc = JSON.parse((await run('--json', 'history', 'fixd.test.example')).stdout) as {
      negative: { family: string; outcome: string; count: number }[];
      lists: string[];
    };
    expect(doc.negative.map((n) => `${n.family} ${n.outcome} ${n.count}`)).toEqual([
      'ipv4 nxdomain 3',
      'ipv6 nxdomain 3',
    ]);
    expect(doc.lists).toEqual(['web']);
  });

  it('says so when a name is not configured and was never looked up, and exits 2', async () => {
    writeConfig('  web:\n    names: [fixed.test.example, later.test.example]\n');
    await run('sync', '--list', 'web');
    const unknown = await run('history', 'fixt.test.example');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'dnsfence: fixt.test.example is not a name of this configuration and was never looked up\n',
    );
    expect(unknown.stdout).toBe('');
    // Removed from the configuration, but looked up before: its history is still there.
    writeConfig('  web:\n    names: [later.test.example]\n');
    const removed = await run('history', 'fixed.test.example');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^ {2}192\.0\.2\.10 /m);
    // Configured, but no sync has asked for it yet.
    const fresh = await run('history', 'brand-new.test.example');
    expect(fresh.code).toBe(2);
    writeConfig('  web:\n    names: [brand-new.test.example]\n');
    const pending = await run('history', 'brand-new.test.example');
    expect(pending.code).toBe(0);
    expect(pending.stdout).toBe(
      'brand-new.test.example  (list web)\n  not looked up yet (dnsfence sync records its answers)\n',
    );
  });
});

describe('history of a prefix or a dropped address', () => {
  it('answers for each address inside a prefix', async () => {
    writeConfig('  web:\n    names: [www.test.example, api.test.example]\n    static: [192.0.2.128/25]\n');
    await run('sync');
    const v4 = await run('history', '192.0.2.0/24');
    expect(v4.code).toBe(0);
    expect(v4.stdout).toMatch(/^192\.0\.2\.0\/24: 2 addresses inside it answered or held in this period$/m);
    expect(v4.stdout).toMatch(
      /^192\.0\.2\.20\n {2}answered by:\n {4}www\.test\.example .*\n {2}held by:\n {4}a\/web .* \(dns\) \.\. now$/m,
    );
    expect(v4.stdout).toMatch(
      /^192\.0\.2\.128\/25\n {2}answered by:\n {4}no name returned it in this period\n {2}held by:\n {4}a\/web .* \(static\) \.\. now$/m,
    );
    expect(v4.stdout).not.toContain('198.51.100.30');
    const v6 = JSON.parse((await run('--json', 'history', '2001:db8::/32')).stdout) as {
      kind: string;
      addresses: { address: string; held: { target: string; list: string }[] }[];
    };
    expect(v6.kind).toBe('prefix');
    expect(
      v6.addresses.map((a) => `${a.address} ${a.held.map((h) => `${h.target}/${h.list}`).join()}`),
    ).toEqual(['2001:db8::20 a/web']);
    const none = await run('history', '203.0.113.0/24');
    expect(none.stdout).toBe('203.0.113.0/24\n  no address inside it was answered or held in this period\n');
  });

  it('says which list dropped an answered address, and why', async () => {
    writeConfig(
      [
        '  web:',
        '    names: [inside.test.example]',
        '  internal:',
        '    names: [inside.test.example]',
        '    allow_private: true',
        '  partner:',
        '    names: [inside.test.example, www.test.example]',
        '    allow: [198.51.100.0/24]',
        '  v4only:',
        '    names: [www.test.example]',
        '    families: [ipv4]',
        '  both:',
        '    names: [www.test.example]',
        '    static: [192.0.2.0/26]',
        '',
      ].join('\n'),
    );
    await run('sync');
    const privateAddress = await run('history', '10.0.0.1');
    expect(privateAddress.code).toBe(0);
    const dropped = (text: string) => text.split('\n').filter((l) => l.startsWith('  dropped by'));
    expect(dropped(privateAddress.stdout)).toEqual([
      '  dropped by list web: private address (set allow_private for internal names)',
      // Answer hygiene first, as the planner judges: the allow prefixes come after it.
      '  dropped by list partner: private address (set allow_private for internal names)',
    ]);
    expect(privateAddress.stdout).toMatch(/held by:\n {4}a\/internal /);
    // allow_private would not let a loopback address through: no such advice.
    expect(dropped((await run('history', '127.0.0.2')).stdout)).toEqual([
      '  dropped by list web: loopback address',
      '  dropped by list internal: loopback address',
      '  dropped by list partner: loopback address',
    ]);
    expect(dropped((await run('history', '2001:db8::20')).stdout)).toEqual([
      "  dropped by list partner: outside the list's allow prefixes (198.51.100.0/24)",
      '  dropped by list v4only: the list takes IPv4 addresses only',
    ]);
    expect(dropped((await run('history', '192.0.2.40')).stdout)).toEqual([
      "  dropped by list partner: outside the list's allow prefixes (198.51.100.0/24)",
    ]);
    // Not an answer the list refused: its own static prefix holds it already.
    expect(dropped((await run('history', '192.0.2.20')).stdout)).toEqual([
      "  dropped by list partner: outside the list's allow prefixes (198.51.100.0/24)",
      '  dropped by list both: covered by its static 192.0.2.0/26, which the list holds instead',
    ]);
    const doc = JSON.parse((await run('--json', 'history', '10.0.0.1')).stdout) as {
      dropped: { list: string; names: string[]; why: string }[];
    };
    expect(doc.dropped[0]).toEqual({
      list: 'web',
      names: ['inside.test.example'],
      why: 'private address (set allow_private for internal names)',
    });
  });
});
