import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAddress, type Address } from '../src/address.js';
import type { LookupResult } from '../src/resolver/types.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { addressHistory, nameHistory, prefixHistory } from '../src/store/history.js';
import { loadMigrations, migrate } from '../src/store/migrate.js';
import { loadFailing, loadSightings, Presence, recordLookups } from '../src/store/observations.js';
import { prune } from '../src/store/prune.js';
import { namesWithoutAddressIn } from '../src/store/report-queries.js';
import { recordBefore10 } from './recording-before-10.js';
import { tempDir } from './helpers.js';

// Migration 10 keeps an unchanged answer to one write: the intervals of the latest answer stay open
// (last_seen NULL, ending at the lookup's last success). These tests record the same random
// histories the way of before migration 10 and the current way, and compare what every reader of
// presence sees; and they migrate databases that the old way filled.

const NAMES = ['a.example.com', 'b.example.com'];
const POOL = { ipv4: ['192.0.2.1', '192.0.2.2', '198.51.100.7'], ipv6: ['2001:db8::1', '2001:db8::2'] };
/** Names that are never looked up: past 256 names, Presence reads in bulk instead of name by name. */
const OTHERS = Array.from({ length: 300 }, (_, i) => `other${i}.example.net`);

const at = (minutes: number) => new Date(Date.parse('2026-11-28T00:00:00Z') + minutes * 60_000);

/** One (name, family) in one pass: not asked, an answer, a negative answer or a failure. */
const lookup = (family: 'ipv4' | 'ipv6') =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 5,
      arbitrary: fc.record({
        outcome: fc.constant('answer' as const),
        // Rotated order (as resolvers rotate), TTLs counting down, another resolver or a CNAME now and then.
        addresses: fc.shuffledSubarray(POOL[family], { minLength: 1 }),
        ttls: fc.array(fc.constantFrom(60, 299, 300), { minLength: 3, maxLength: 3 }),
        resolver: fc.constantFrom('127.0.0.1:53', '192.0.2.53:53'),
        cname: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ outcome: fc.constantFrom('nxdomain' as const, 'nodata' as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({ outcome: fc.constantFrom('timeout' as const, 'servfail' as const) }),
    },
  );

const pass = fc.record({
  gap: fc.integer({ min: 1, max: 90 }),
  lookups: fc.tuple(lookup('ipv4'), lookup('ipv6'), lookup('ipv4'), lookup('ipv6')),
});

/** The lookups of a generated pass (a name and family at most once, as a sync asks). */
function resultsOf(p: { lookups: readonly unknown[] }): LookupResult[] {
  const out: LookupResult[] = [];
  p.lookups.forEach((raw, i) => {
    if (!raw) return;
    const l = raw as {
      outcome: LookupResult['outcome'];
      addresses?: string[];
      ttls?: number[];
      resolver?: string;
      cname?: boolean;
    };
    const name = NAMES[i >> 1] as string;
    const family = i % 2 ? 'ipv6' : 'ipv4';
    const addresses = (l.addresses ?? []).map((address, k) => ({ address, ttl: l.ttls?.[k] ?? 60 }));
    out.push({
      name,
      family,
      outcome: l.outcome,
      addresses,
      ttl: addresses.length
        ? Math.min(...addresses.map((a) => a.ttl))
        : l.outcome === 'answer'
          ? 60
          : undefined,
      chain: l.cname ? [name, `edge.cdn.example.net`] : [name],
      resolver: l.resolver ?? '127.0.0.1:53',
      ...(l.outcome === 'answer' ? {} : { detail: `${l.outcome} from the test` }),
    });
  });
  return out;
}

let dir: ReturnType<typeof tempDir>;
let before: Db;
let now: Db;

const before10 = () => loadMigrations().filter((m) => m.version < 10);

/** A database of the schema before migration 10; the view lets the current readers read it as they read the table then. */
function openBefore(path: string): Db {
  const db = openDatabase(path);
  migrate(db, path, before10());
  return db;
}

beforeEach(() => {
  dir = tempDir();
  before = openBefore(join(dir.path, 'before.db'));
  before.exec('CREATE TEMP VIEW presence_intervals AS SELECT * FROM presence');
  now = openDatabase(join(dir.path, 'now.db'));
  migrate(now, join(dir.path, 'now.db'));
});

afterEach(() => {
  before.close();
  now.close();
  dir.cleanup();
});

const clear = (db: Db) =>
  db.exec('DELETE FROM presence; DELETE FROM lookups; DELETE FROM failures; DELETE FROM negative_answers');

function replay(passes: readonly { gap: number; lookups: readonly unknown[] }[], from: number) {
  let minute = from;
  for (const p of passes) {
    minute += p.gap;
    const results = resultsOf(p);
    before.transaction(() => recordBefore10(before, results, at(minute)))();
    now.transaction(() => recordLookups(now, results, at(minute)))();
  }
  return minute;
}

const LOOKUP_COLUMNS =
  'name, family, last_attempt, last_success, outcome, detail, failing_since, ttl, resolver, chain';
const sorted = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

/** Everything a reader of presence, lookups and the interval logs can see, at `minute`. */
function seen(db: Db, minute: number) {
  const cutoffs = [0, 30, 120, 400, minute].map((m) => at(m));
  const addresses = [...POOL.ipv4, ...POOL.ipv6];
  return {
    intervals: db
      .prepare(
        'SELECT name, family, address, first_seen, last_seen, ttl, resolver, chain FROM presence_intervals ORDER BY id',
      )
      .all(),
    lookups: db.prepare(`SELECT ${LOOKUP_COLUMNS} FROM lookups ORDER BY name, family`).all(),
    failures: db.prepare('SELECT * FROM failures ORDER BY id').all(),
    negative: db.prepare('SELECT * FROM negative_answers ORDER BY id').all(),
    sightings: cutoffs.map((c) => sorted(loadSightings(db, NAMES, c))),
    bulk: cutoffs.map((c) => sorted(Presence.read(db, [...NAMES, ...OTHERS], c).sightings(NAMES, c) ?? [])),
    failing: loadFailing(db, NAMES),
    names: cutoffs.map((c) => NAMES.map((n) => nameHistory(db, n, c.toISOString()))),
    addresses: cutoffs.map((c) => addresses.map((a) => addressHistory(db, a, c.toISOString()))),
    prefix: prefixHistory(db, parseAddress('192.0.2.0/24') as Address, at(0).toISOString()),
    withoutAddress: cutoffs.map((c) => namesWithoutAddressIn(db, c.toISOString(), at(minute).toISOString())),
  };
}

describe('open presence intervals', () => {
  it('readers see what the recording before migration 10 gave them', () => {
    fc.assert(
      fc.property(fc.array(pass, { minLength: 1, maxLength: 14 }), (passes) => {
        clear(before);
        clear(now);
        const minute = replay(passes, 0);
        expect(seen(now, minute)).toEqual(seen(before, minute));
      }),
      { numRuns: 150 },
    );
  });

  it('an unchanged answer updates its lookup alone, whatever its TTLs and their order', () => {
    const answer = (ttl: number, addresses: string[]): LookupResult => ({
      name: 'a.example.com',
      family: 'ipv4',
      outcome: 'answer',
      addresses: addresses.map((address) => ({ address, ttl })),
      ttl,
      chain: ['a.example.com'],
      resolver: '127.0.0.1:53',
    });
    now.transaction(() => recordLookups(now, [answer(300, ['192.0.2.1', '192.0.2.2'])], at(0)))();
    const changes = () => (now.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const start = changes();
    now.transaction(() => recordLookups(now, [answer(117, ['192.0.2.2', '192.0.2.1'])], at(5)))();
    expect(changes() - start).toBe(1);
    expect(
      now.prepare('SELECT address, first_seen, last_seen, ttl FROM presence_intervals ORDER BY id').all(),
    ).toEqual([
      { address: '192.0.2.1', first_seen: at(0).toISOString(), last_seen: at(5).toISOString(), ttl: 117 },
      { address: '192.0.2.2', first_seen: at(0).toISOString(), last_seen: at(5).toISOString(), ttl: 117 },
    ]);
  });

  it('pruning leaves the same history, and recording goes on from it as before', () => {
    fc.assert(
      fc.property(
        fc.array(pass, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 600 }),
        fc.array(pass, { minLength: 1, maxLength: 6 }),
        (first, cut, then) => {
          clear(before);
          clear(now);
          const minute = replay(first, 0);
          // Pruning before migration 10: every interval that ended before the cutoff.
          before.prepare('DELETE FROM presence WHERE last_seen < ?').run(at(cut).toISOString());
          before.prepare('DELETE FROM failures WHERE last_at < ?').run(at(cut).toISOString());
          before.prepare('DELETE FROM negative_answers WHERE last_at < ?').run(at(cut).toISOString());
          prune(now, at(cut), at(minute));
          expect(seen(now, minute)).toEqual(seen(before, minute));
          const end = replay(then, minute);
          expect(seen(now, end)).toEqual(seen(before, end));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('migration 10', () => {
  it('converts a database the old way filled without losing history, and recording goes on from it', () => {
    let round = 0;
    fc.assert(
      fc.property(
        fc.array(pass, { minLength: 1, maxLength: 12 }),
        fc.array(pass, { maxLength: 6 }),
        (filled, then) => {
          clear(before);
          let minute = 0;
          for (const p of filled) {
            minute += p.gap;
            const results = resultsOf(p);
            before.transaction(() => recordBefore10(before, results, at(minute)))();
          }
          // The old database as a user has it, migrated the way `sync` and `db migrate` do.
          before.pragma('wal_checkpoint(TRUNCATE)');
          const path = join(dir.path, `migrated-${round++}.db`);
          copyFileSync(join(dir.path, 'before.db'), path);
          now.close();
          now = openDatabase(path);
          expect(migrate(now, path)).toEqual(
            loadMigrations()
              .filter((m) => m.version >= 10)
              .map((m) => m.version),
          );
          expect(seen(now, minute)).toEqual(seen(before, minute));
          const end = replay(then, minute);
          expect(seen(now, end)).toEqual(seen(before, end));
        },
      ),
      { numRuns: 60 },
    );
  });
});
