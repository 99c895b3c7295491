import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdapter, TARGET_TYPES, targetType } from '../adapters/registry.js';
import { parseConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import type { TestZoneServer } from './fakes/dns.js';
import { ConfigError } from '../src/errors.js';
import { feedFiles } from '../src/model/feed.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { allFeedContent, recordFetches, type FetchRecord } from '../src/store/feeds.js';
import { prune } from '../src/store/prune.js';
import { feedConsumers } from '../src/report/feeds.js';
import { migrate } from '../src/store/migrate.js';
import { runSync } from '../src/sync/engine.js';
import { syncLines } from '../src/sync/lines.js';
import { startZone, tempDir } from './helpers.js';

// The feed target in the sync engine, on a simulated clock: its push stores each list's content
// in the database, in one transaction, and the audit log records what entered and left it.

let zone: TestZoneServer;
let port: number;
let dir: ReturnType<typeof tempDir>;
let db: Db;
let now: number;
const clock = () => new Date(now);

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
});
afterAll(() => zone.stop());
beforeEach(() => {
  dir = tempDir();
  now = Date.parse('2026-11-01T00:00:00Z');
  zone.set('www.example.com', { a: ['192.0.2.10', '192.0.2.9'], aaaa: ['2001:db8::1'], ttl: 300 });
  zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 300 });
  zone.set('gone.example.com', { behaviour: 'nxdomain' });
});
afterEach(() => {
  db?.close();
  dir.cleanup();
});

function configure(targets = '  feeds: { type: feed }\n  out: { type: file, dir: lists }\n'): Config {
  const file = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    file,
    `resolvers: ["127.0.0.1:${port}"]\nresolve: { timeout: 1s, attempts: 1 }\nlists:\n` +
      '  web:\n    names: [www.example.com, api.example.com]\n    static: ["203.0.113.0/24"]\n' +
      '  quiet:\n    names: [gone.example.com]\n' +
      `targets:\n${targets}`,
  );
  const config = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
  db = openDatabase(config.database);
  migrate(db, config.database);
  return config;
}

const sync = (config: Config, preview = false) =>
  runSync(config, db, { command: 'test', preview, force: false, clock });
const published = () => new Map(allFeedContent(db).map((r) => [`${r.target}/${r.list}`, r]));
const audit = () =>
  db.prepare("SELECT action, address, reason FROM audit WHERE target = 'feeds' ORDER BY seq").all();

describe('a feed target', () => {
  it('publishes each list as the file target writes it, IPv4 then IPv6, and audits every address', async () => {
    const config = configure();
    const r = await sync(config);
    expect(r.exitCode).toBe(0);
    const web = published().get('feeds/web');
    expect(web?.addresses).toBe(readFileSync(join(dir.path, 'lists', 'web.txt'), 'utf8'));
    expect(web?.addresses).toBe('192.0.2.9\n192.0.2.10\n198.51.100.1\n203.0.113.0/24\n2001:db8::1\n');
    expect(web?.published_at).toBe('2026-11-01T00:00:00.000Z');
    expect(audit()).toEqual([
      { action: 'added', address: '192.0.2.9', reason: 'dns' },
      { action: 'added', address: '192.0.2.10', reason: 'dns' },
      { action: 'added', address: '198.51.100.1', reason: 'dns' },
      { action: 'added', address: '203.0.113.0/24', reason: 'static' },
      { action: 'added', address: '2001:db8::1', reason: 'dns' },
    ]);
    expect(syncLines(r, false)).toContain('feeds  publish /feeds/feeds/web.txt (5 addresses)');
  });

  it('a list that is empty on purpose is published empty, so a poller gets an empty list', async () => {
    const config = configure();
    const r = await sync(config);
    expect(published().get('feeds/quiet')?.addresses).toBe('');
    expect(r.targets.find((t) => t.target === 'feeds')?.push?.done.map((o) => o.description)).toContain(
      'publish /feeds/feeds/quiet.txt (0 addresses)',
    );
  });

  it('plan shows what a sync would publish and publishes nothing', async () => {
    const config = configure();
    const r = await sync(config, true);
    expect(syncLines(r, false)).toContain('feeds  publish /feeds/feeds/web.txt (5 addresses)');
    expect(published().size).toBe(0);
  });

  it('a second sync with no DNS change publishes nothing and keeps the time of the first', async () => {
    const config = configure();
    await sync(config);
    now += 600_000;
    const r = await sync(config);
    const feeds = r.targets.find((t) => t.target === 'feeds');
    expect(feeds?.plan?.operations).toEqual([]);
    expect(feeds?.push?.outcome).toBe('unchanged');
    expect(published().get('feeds/web')?.published_at).toBe('2026-11-01T00:00:00.000Z');
  });

  it('a DNS change publishes the new content at the time of that push', async () => {
    const config = configure();
    await sync(config);
    now += 600_000;
    zone.set('api.example.com', { a: ['198.51.100.2'], ttl: 300 });
    await sync(config);
    const web = published().get('feeds/web');
    expect(web?.addresses).toContain('198.51.100.2\n');
    expect(web?.published_at).toBe('2026-11-01T00:10:00.000Z');
  });

  it('content changed behind its back is restored and recorded as drift', async () => {
    const config = configure();
    await sync(config);
    db.prepare(
      "UPDATE feed_content SET addresses = '192.0.2.9\n203.0.113.0/24\n' WHERE target = 'feeds' AND list = 'web'",
    ).run();
    const r = await sync(config);
    const feeds = r.targets.find((t) => t.target === 'feeds');
    expect(feeds?.push?.applied.map((c) => `${c.address} ${c.reason}`)).toEqual([
      '192.0.2.10 drift',
      '198.51.100.1 drift',
      '2001:db8::1 drift',
    ]);
    expect(published().get('feeds/web')?.addresses).toBe(
      '192.0.2.9\n192.0.2.10\n198.51.100.1\n203.0.113.0/24\n2001:db8::1\n',
    );
  });

  it('a push stopped between publishing and auditing is completed: the next sync records what it finds', async () => {
    const config = configure();
    await sync(config);
    zone.set('api.example.com', { a: ['198.51.100.2'], ttl: 300 });
    // As if a push had stored the new content and the process died before its audit entries.
    db.prepare(
      "UPDATE feed_content SET addresses = replace(addresses, '198.51.100.1', '198.51.100.2') WHERE target = 'feeds' AND list = 'web'",
    ).run();
    now += 600_000;
    const r = await sync(config);
    const web = r.targets.find((t) => t.target === 'feeds')?.plan?.lists.find((l) => l.list === 'web');
    // The new address is recorded as found there; the old one, still within retention, comes back.
    expect(web?.record.map((c) => `${c.action} ${c.address} ${c.reason}`)).toEqual([
      'added 198.51.100.2 drift',
    ]);
    expect(web?.add.map((c) => `${c.address} ${c.reason}`)).toEqual(['198.51.100.1 drift']);
    expect(
      db.prepare("SELECT address FROM applied WHERE target = 'feeds' AND list = 'web'").pluck().all(),
    ).toContain('198.51.100.2');
  });

  it('a list renamed on the target moves to its new URL; the old one is named, with what to do', async () => {
    let config = configure();
    await sync(config);
    db.close();
    config = configure('  feeds: { type: feed, lists: { web: partner, quiet: quiet } }\n');
    const r = await sync(config);
    expect(published().get('feeds/partner')?.addresses).toBe(published().get('feeds/web')?.addresses);
    const moved = r.notices.find((n) => n.kind === 'moved');
    expect(moved).toMatchObject({ from: 'feed /feeds/feeds/web.txt', to: 'feed /feeds/feeds/partner.txt' });
    expect(moved && 'removal' in moved ? moved.removal : '').toContain('404');
  });

  it('check says where its lists are published and how many are', async () => {
    const config = configure();
    const adapter = await createAdapter(config.targets.get('feeds')!, { db, clock });
    expect(await adapter.check()).toMatch(
      /publishes 2 list\(s\) at \/feeds\/feeds\/<list>\.txt .* 0 published so far/,
    );
    await sync(config);
    expect(await adapter.check()).toMatch(/all published$/);
  });

  it('has no firewall rules to print: the pollers use its lists', () => {
    const config = configure();
    expect(() => targetType('feed').rules(config.targets.get('feeds')!, { lists: [], sources: [] })).toThrow(
      ConfigError,
    );
  });
});

describe('the files of a feed list', () => {
  it('are the whole list and one family each, each with the ETag of its exact body', () => {
    const files = feedFiles('web', '192.0.2.9\n203.0.113.0/24\n2001:db8::1\n');
    expect(files.map((f) => [f.file, f.body, f.addresses])).toEqual([
      ['web.txt', '192.0.2.9\n203.0.113.0/24\n2001:db8::1\n', 3],
      ['web.v4.txt', '192.0.2.9\n203.0.113.0/24\n', 2],
      ['web.v6.txt', '2001:db8::1\n', 1],
    ]);
    expect(new Set(files.map((f) => f.etag)).size).toBe(3);
    expect(feedFiles('web', '')[2]).toMatchObject({ body: '', addresses: 0 });
    expect(feedFiles('x', 'a\n')[0]?.etag).toBe(feedFiles('y', 'a\n')[0]?.etag);
  });
});

describe('feed consumers, as the report sees them', () => {
  const at = (min: number) => new Date(Date.parse('2026-11-01T00:00:00Z') + min * 60_000).toISOString();
  const fetch = (min: number, over: Partial<FetchRecord> = {}): FetchRecord => ({
    at: at(min),
    client: '192.0.2.10',
    user: 'pa-fw1',
    target: 'feeds',
    list: 'web',
    file: 'web.txt',
    etag: '"old"',
    status: 200,
    ...over,
  });

  it('a consumer that stays away for more than three of its usual intervals has stopped', async () => {
    const config = configure();
    await sync(config);
    const current = feedFiles('web', published().get('feeds/web')!.addresses)[0]!.etag;
    recordFetches(db, [
      // Every 5 minutes, then nothing: at minute 30 it is 15 minutes late, at 31 more than that.
      ...[0, 5, 10, 15].map((m) => fetch(m)),
      // Another polls every 5 minutes and holds the current version.
      ...[0, 5, 10, 15, 20, 25, 30].map((m) =>
        fetch(m, { client: '198.51.100.20', user: 'forti', etag: current }),
      ),
      // One that fails authentication keeps what it had.
      fetch(1, { client: '203.0.113.5', user: null }),
      fetch(6, { client: '203.0.113.5', user: null, etag: null, status: 401 }),
    ]);
    const consumers = (until: number) =>
      new Map(feedConsumers(db, at(-60), at(until)).map((c) => [c.client, c]));
    expect(consumers(30).get('192.0.2.10')).toMatchObject({
      stopped: false,
      intervalMs: 300_000,
      current: false,
    });
    expect(consumers(31).get('192.0.2.10')).toMatchObject({ stopped: true, holds: '"old"', fetches: 4 });
    expect(consumers(31).get('198.51.100.20')).toMatchObject({
      stopped: false,
      current: true,
      user: 'forti',
    });
    expect(consumers(31).get('203.0.113.5')).toMatchObject({
      lastStatus: 401,
      holds: '"old"',
      intervalMs: null,
      stopped: false,
      refused: true,
    });
    expect(consumers(31).get('198.51.100.20')?.refused).toBe(false);
  });

  it('db prune removes fetch records older than its cutoff', async () => {
    configure();
    recordFetches(db, [fetch(0), fetch(60 * 24 * 10)]);
    const result = prune(db, new Date(at(60 * 24)), new Date(at(60 * 24 * 11)));
    expect(result.fetches).toBe(1);
    expect(db.prepare('SELECT at FROM feed_fetches').pluck().all()).toEqual([at(60 * 24 * 10)]);
  });
});
