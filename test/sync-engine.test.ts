import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../adapters/registry.js';
import { parseConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { silentLogger } from '../src/log.js';
import type { TestZoneServer } from './fakes/dns.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { runSync, type SyncResult } from '../src/sync/engine.js';
import type { Notice } from '../src/sync/notices.js';
import { Watcher } from '../src/sync/watch.js';
import { startZone, tempDir } from './helpers.js';

// The sync engine and the watch loop in this process, on a simulated clock: retention, stale_limit,
// backoff and drift repair are tested without waiting for them.

const H = 3_600_000;
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
  zone.set('www.example.com', { a: ['192.0.2.1'], ttl: 300 });
  zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 300 });
});
afterEach(() => {
  db?.close();
  dir.cleanup();
});

function configure(extra = ''): Config {
  const file = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    file,
    `resolvers: ["127.0.0.1:${port}"]\nresolve: { timeout: 1s, attempts: 1, families: [ipv4] }\n${extra}\n` +
      'lists:\n  web:\n    names: [www.example.com, api.example.com]\ntargets:\n  out: { type: file, dir: lists }\n',
  );
  const config = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
  db = openDatabase(config.database);
  migrate(db, config.database);
  return config;
}

const sync = (config: Config, preview = false) =>
  runSync(config, db, { command: 'test', preview, force: false, clock });
const list = () =>
  readFileSync(join(dir.path, 'lists', 'web.txt'), 'utf8')
    .trim()
    .split('\n');
const applied = (r: SyncResult) => r.targets.flatMap((t) => t.push?.applied ?? []);

describe('the sync engine, in process', () => {
  it('an address not seen for longer than retention is removed, as expired', async () => {
    const config = configure('retention: 2h');
    await sync(config);
    zone.set('www.example.com', { a: ['192.0.2.2'], ttl: 300 });
    now += 1 * H;
    await sync(config);
    expect(list()).toEqual(['192.0.2.1', '192.0.2.2', '198.51.100.1']);
    now += 1.5 * H;
    const r = await sync(config);
    expect(applied(r)).toEqual([
      expect.objectContaining({ action: 'removed', address: '192.0.2.1', reason: 'expired' }),
    ]);
    expect(list()).toEqual(['192.0.2.2', '198.51.100.1']);
  });

  it('a SERVFAIL keeps the old addresses for stale_limit, with exit 3, then they go', async () => {
    const config = configure('retention: 1h\nstale_limit: 6h');
    await sync(config);
    zone.set('www.example.com', { behaviour: 'servfail' });
    now += 5 * H;
    const failing = await sync(config);
    expect(failing.exitCode).toBe(3);
    expect(failing.notices).toContainEqual({ kind: 'stale', list: 'web', name: 'www.example.com' });
    expect(list()).toContain('192.0.2.1');
    now += 2 * H;
    const later = await sync(config);
    expect(applied(later).map((c) => [c.address, c.reason])).toEqual([['192.0.2.1', 'expired']]);
  });

  it('a preview shows exactly what the following sync then does', async () => {
    const config = configure();
    await sync(config);
    zone.set('www.example.com', { a: ['192.0.2.7'], ttl: 300 });
    zone.set('api.example.com', { a: ['203.0.113.5'], ttl: 300 });
    const preview = await sync(config, true);
    expect(preview.runId).toBeUndefined();
    const planned = preview.targets.flatMap(
      (t) => t.plan?.lists.flatMap((l) => [...l.add, ...l.remove]) ?? [],
    );
    expect(planned.map((c) => `${c.action} ${c.address}`).sort()).toEqual([
      'added 192.0.2.7',
      'added 203.0.113.5',
    ]);
    const pushed = await sync(config);
    expect(applied(pushed)).toEqual(planned);
  });

  it('says what it has to say as values: a dropped private answer, a name without address', async () => {
    const config = configure();
    zone.set('www.example.com', { a: ['192.0.2.1', '10.1.2.3'], ttl: 300 });
    zone.zone.delete('api.example.com');
    const r = await sync(config);
    expect(r.exitCode).toBe(0);
    expect(r.notices).toEqual(
      expect.arrayContaining<Notice>([
        {
          kind: 'rejected',
          list: 'web',
          name: 'www.example.com',
          address: '10.1.2.3',
          why: 'range',
          range: 'private',
          privateWouldPass: true,
        },
        { kind: 'no-address', name: 'api.example.com', outcomes: [{ family: 'ipv4', outcome: 'nxdomain' }] },
      ]),
    );
  });
});

describe('the watch loop, in process', () => {
  /** Runs a watcher on the simulated clock until `until`; sleeping moves the clock instead of waiting. */
  async function watch(config: Config, until: number, options: { driftIntervalMs?: number } = {}) {
    const results: SyncResult[] = [];
    const notices: Notice[] = [];
    const watcher = new Watcher(config, db, {
      minIntervalMs: 60_000,
      maxIntervalMs: H,
      driftIntervalMs: options.driftIntervalMs ?? 60_000,
      clock,
      log: silentLogger,
      sleep: async (ms) => {
        now += ms;
        if (now >= until) watcher.stop();
      },
      reload: () => config,
      afterSync: (r) => results.push(r),
      onNotice: (n) => notices.push(n),
    });
    await watcher.run();
    return { results, notices };
  }

  it('backs off a failing name from 5 s, doubling, and keeps its addresses meanwhile', async () => {
    const config = configure('stale_limit: 7d');
    await sync(config);
    zone.set('www.example.com', { behaviour: 'servfail' });
    // When, on the simulated clock, the server is asked for the failing name.
    const start = now;
    const asked: number[] = [];
    const push = zone.log.push.bind(zone.log);
    zone.log.push = (...items: string[]) => {
      for (const item of items) if (item.includes('www.example.com')) asked.push(now - start);
      return push(...items);
    };
    try {
      await watch(config, start + 80_000, { driftIntervalMs: H });
    } finally {
      zone.log.push = push;
    }
    // The first answer at once, then retries 5 s, 10 s, 20 s and 40 s after each failure.
    expect(asked.slice(0, 5)).toEqual([0, 5000, 15_000, 35_000, 75_000]);
    expect(list()).toContain('192.0.2.1');
  });

  it('reads the target each drift interval: restores a deleted list file, and removes what expired', async () => {
    const config = configure('retention: 2h');
    await sync(config);
    zone.set('www.example.com', { a: ['192.0.2.9'], ttl: 86_400 });
    zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 86_400 });
    now += 30_000;
    rmSync(join(dir.path, 'lists', 'web.txt'));
    const { results } = await watch(config, now + 3 * H, { driftIntervalMs: 10 * 60_000 });
    const reasons = results.flatMap((r) => applied(r).map((c) => `${c.action} ${c.address} ${c.reason}`));
    expect(reasons).toContain('added 192.0.2.1 drift');
    expect(reasons).toContain('removed 192.0.2.1 expired');
    expect(existsSync(join(dir.path, 'lists', 'web.txt'))).toBe(true);
    expect(list()).toEqual(['192.0.2.9', '198.51.100.1']);
  });
});
