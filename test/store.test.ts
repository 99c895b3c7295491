import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, entryHash, verifyAudit } from '../src/store/audit.js';
import { stableJson } from '../src/json.js';
import { durableAtEnd, openDatabase, type Db } from '../src/store/db.js';
import { acquireLock } from '../src/store/lock.js';
import { lastDeliveries, recordDelivery } from '../src/store/notifications.js';
import { prune } from '../src/store/prune.js';
import { recordAsked } from '../src/store/learned.js';
import { loadMigrations, migrate, requireCurrentSchema, schemaVersion } from '../src/store/migrate.js';
import { loadSightings, recordLookups } from '../src/store/observations.js';
import type { LookupResult } from '../src/resolver/types.js';
import { UserError } from '../src/errors.js';
import { tempDir } from './helpers.js';

const recordLookup = (db: Db, result: LookupResult, at: Date) => recordLookups(db, [result], at);

let dir: ReturnType<typeof tempDir>;
let path: string;
let db: Db;

beforeEach(() => {
  dir = tempDir();
  path = join(dir.path, 'dnsfence.db');
  db = openDatabase(path);
  migrate(db, path);
});

afterEach(() => {
  db.close();
  dir.cleanup();
});

function answer(name: string, addresses: string[]): LookupResult {
  return {
    name,
    family: 'ipv4',
    outcome: 'answer',
    addresses: addresses.map((address) => ({ address, ttl: 60 })),
    ttl: 60,
    chain: [name],
    resolver: 'test',
  };
}

const at = (minutes: number) => new Date(Date.parse('2026-11-28T00:00:00Z') + minutes * 60_000);

describe('store', () => {
  it('creates the database 0600 in WAL mode and records each migration once', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(loadMigrations().at(-1)!.version);
    expect(migrate(db, path)).toEqual([]);
    const rows = db.prepare('SELECT version, name FROM schema_migrations').all();
    expect(rows).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'audit_checkpoints' },
      { version: 3, name: 'indexes' },
      { version: 4, name: 'running_runs' },
      { version: 5, name: 'negative_answers' },
      { version: 6, name: 'placements' },
      { version: 7, name: 'feeds' },
      { version: 8, name: 'notifications' },
      { version: 9, name: 'learned' },
      { version: 10, name: 'open_presence' },
    ]);
  });

  it('applies a migration numbered below one already applied (branches merged in either order)', () => {
    const fresh = openDatabase(join(dir.path, 'gap.db'));
    try {
      const all = loadMigrations();
      const late = all.at(-2)!;
      migrate(
        fresh,
        'gap.db',
        all.filter((m) => m !== late),
      );
      expect(() => requireCurrentSchema(fresh, 'gap.db', all)).toThrow(
        `gap.db: database schema lacks migration ${late.version}; run dnsfence db migrate`,
      );
      expect(migrate(fresh, 'gap.db', all)).toEqual([late.version]);
      expect(() => requireCurrentSchema(fresh, 'gap.db', all)).not.toThrow();
      expect(migrate(fresh, 'gap.db', all)).toEqual([]);
    } finally {
      fresh.close();
    }
  });

  it('flushes each commit to disk, but for the work given to durableAtEnd, whose commits the next one flushes', async () => {
    const FULL = 2;
    const NORMAL = 1;
    const synchronous = () => db.pragma('synchronous', { simple: true });
    expect(synchronous()).toBe(FULL);
    await expect(durableAtEnd(db, async () => synchronous())).resolves.toBe(NORMAL);
    expect(synchronous()).toBe(FULL);
    await expect(
      durableAtEnd(db, async () => {
        throw new Error('resolver gone');
      }),
    ).rejects.toThrow('resolver gone');
    expect(synchronous()).toBe(FULL);
  });

  it('refuses a database from a newer schema', () => {
    db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')").run();
    expect(() => migrate(db, path)).toThrow(
      /schema version 999 is newer than this dnsfence knows \(\d+\); upgrade dnsfence/,
    );
  });

  it('reports a file that is not a database in one line', () => {
    const bogus = join(dir.path, 'bogus.db');
    writeFileSync(bogus, 'x'.repeat(4096));
    expect(() => openDatabase(bogus)).toThrow(/bogus\.db: not a dnsfence database or corrupted/);
  });

  it('keeps history as presence intervals: it grows with changes, not with runs', () => {
    for (let i = 0; i < 50; i++)
      db.transaction(() => recordLookup(db, answer('a.example.com', ['192.0.2.1', '192.0.2.2']), at(i)))();
    expect(db.prepare('SELECT count(*) AS n FROM presence').get()).toEqual({ n: 2 });
    db.transaction(() => recordLookup(db, answer('a.example.com', ['192.0.2.1']), at(50)))();
    db.transaction(() => recordLookup(db, answer('a.example.com', ['192.0.2.1', '192.0.2.2']), at(51)))();
    const rows = db
      .prepare('SELECT address, first_seen, last_seen FROM presence_intervals ORDER BY id')
      .all() as {
      address: string;
      first_seen: string;
      last_seen: string;
    }[];
    expect(rows).toEqual([
      { address: '192.0.2.1', first_seen: at(0).toISOString(), last_seen: at(51).toISOString() },
      { address: '192.0.2.2', first_seen: at(0).toISOString(), last_seen: at(49).toISOString() },
      { address: '192.0.2.2', first_seen: at(51).toISOString(), last_seen: at(51).toISOString() },
    ]);
    const sightings = loadSightings(db, ['a.example.com'], at(0));
    expect(sightings.map((s) => s.address).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('a failed lookup leaves intervals alone and counts the failure', () => {
    db.transaction(() => recordLookup(db, answer('a.example.com', ['192.0.2.1']), at(0)))();
    for (let i = 1; i <= 3; i++) {
      db.transaction(() =>
        recordLookup(
          db,
          {
            name: 'a.example.com',
            family: 'ipv4',
            outcome: 'timeout',
            addresses: [],
            ttl: undefined,
            chain: ['a.example.com'],
            resolver: 'test',
            detail: 'no answer',
          },
          at(i),
        ),
      )();
    }
    expect(db.prepare('SELECT last_seen FROM presence_intervals').get()).toEqual({
      last_seen: at(0).toISOString(),
    });
    expect(db.prepare('SELECT outcome, count, first_at, last_at FROM failures').all()).toEqual([
      { outcome: 'timeout', count: 3, first_at: at(1).toISOString(), last_at: at(3).toISOString() },
    ]);
    expect(db.prepare('SELECT last_success, failing_since FROM lookups').get()).toEqual({
      last_success: at(0).toISOString(),
      failing_since: at(1).toISOString(),
    });
  });
});

describe('a first pass into an empty store', () => {
  it('writes what recording into a store that knows other names writes', () => {
    const names = ['a.example.com', 'b.example.com'];
    const pool = ['192.0.2.1', '192.0.2.2', '2001:db8::1'];
    const lookup = fc.record({
      name: fc.constantFrom(...names),
      family: fc.constantFrom('ipv4' as const, 'ipv6' as const),
      addresses: fc.option(fc.uniqueArray(fc.constantFrom(...pool)), { nil: null }),
    });
    const contents = () =>
      ['lookups', 'presence', 'failures'].map((table) =>
        db
          .prepare(`SELECT * FROM ${table} WHERE name != 'other.example.net'`)
          .all()
          .map((row) => JSON.stringify({ ...(row as object), id: undefined }))
          .sort(),
      );
    fc.assert(
      // The same name may come twice in one pass (the engine never asks twice; the recorder must
      // still not take the second for a new name).
      fc.property(fc.array(lookup, { minLength: 1, maxLength: 8 }), (pass) => {
        const results = pass.map(({ name, family, addresses }) => ({
          ...answer(name, addresses ?? []),
          family,
          ...(addresses ? {} : { outcome: 'timeout' as const, detail: 'no answer' }),
        }));
        const record = () => db.transaction(() => recordLookups(db, results, at(0)))();
        db.exec('DELETE FROM presence; DELETE FROM lookups; DELETE FROM failures');
        record();
        const fresh = contents();
        db.exec('DELETE FROM presence; DELETE FROM lookups; DELETE FROM failures');
        db.transaction(() => recordLookup(db, answer('other.example.net', ['203.0.113.1']), at(0)))();
        record();
        expect(fresh).toEqual(contents());
      }),
      { numRuns: 200 },
    );
  });
});

describe('audit log', () => {
  const change = (address: string, action: 'added' | 'removed' = 'added') => ({
    target: 'fw',
    list: 'web',
    action,
    address,
    names: ['a.example.com'],
    reason: 'dns' as const,
  });

  beforeEach(() => {
    db.prepare(
      "INSERT INTO runs (id, command, started_at, outcome, config_hash, pid) VALUES (1, 'sync', 'x', 'ok', 'h', 1)",
    ).run();
  });

  it('chains every entry to the one before and verifies', () => {
    db.transaction(() => appendAudit(db, 1, at(0), [change('192.0.2.1'), change('192.0.2.2')]))();
    db.transaction(() => appendAudit(db, 1, at(1), [change('192.0.2.1', 'removed')]))();
    const v = verifyAudit(db);
    expect(v).toMatchObject({ ok: true, entries: 3 });
    expect(db.prepare('SELECT address FROM applied').all()).toEqual([{ address: '192.0.2.2' }]);
  });

  it('is append-only in SQL and names the first altered entry', () => {
    db.transaction(() =>
      appendAudit(db, 1, at(0), [change('192.0.2.1'), change('192.0.2.2'), change('192.0.2.3')]),
    )();
    expect(() => db.prepare("UPDATE audit SET address = '203.0.113.6' WHERE seq = 2").run()).toThrow(
      /append-only/,
    );
    expect(() => db.prepare('DELETE FROM audit WHERE seq = 2').run()).toThrow(/append-only/);
    db.exec("DROP TRIGGER audit_no_update; UPDATE audit SET address = '203.0.113.6' WHERE seq = 2");
    expect(verifyAudit(db)).toMatchObject({
      ok: false,
      firstBad: { seq: 2, problem: 'content does not match its hash (altered)' },
    });
  });

  it('hashes the canonical JSON of an entry exactly as every earlier version did', () => {
    // entryHash writes the canonical form by hand for speed; stableJson is the definition.
    const reference = (prev: string, content: Parameters<typeof entryHash>[1]) =>
      createHash('sha256')
        .update(`${prev}\n${stableJson(content)}`)
        .digest('hex');
    const text = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat(),
          at: text,
          run_id: fc.nat(),
          target: text,
          list: text,
          action: fc.constantFrom('added' as const, 'removed' as const),
          address: text,
          names: text,
          reason: text,
          detail: fc.option(text, { nil: null }),
        }),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
        (content, prev) => {
          expect(entryHash(prev, content)).toBe(reference(prev, content));
        },
      ),
    );
  });

  it('notices a removed entry', () => {
    db.transaction(() =>
      appendAudit(db, 1, at(0), [change('192.0.2.1'), change('192.0.2.2'), change('192.0.2.3')]),
    )();
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2');
    expect(verifyAudit(db)).toMatchObject({ ok: false, firstBad: { seq: 3, problem: 'entry 2 is missing' } });
  });
});

describe('pruning', () => {
  it('cuts old history and keeps the audit chain verifiable through a checkpoint; tampering is still found', () => {
    db.prepare(
      "INSERT INTO runs (id, command, started_at, outcome, config_hash, pid) VALUES (1, 'sync', 'x', 'ok', 'h', 1)",
    ).run();
    const change = (address: string) => ({
      target: 'fw',
      list: 'web',
      action: 'added' as const,
      address,
      names: ['a.example.com'],
      reason: 'dns' as const,
    });
    db.transaction(() => appendAudit(db, 1, at(0), [change('192.0.2.1'), change('192.0.2.2')]))();
    db.transaction(() => appendAudit(db, 1, at(100), [change('192.0.2.3'), change('192.0.2.4')]))();
    db.transaction(() => recordLookup(db, answer('old.example.com', ['192.0.2.9']), at(0)))();
    db.transaction(() => recordLookup(db, answer('new.example.com', ['192.0.2.8']), at(100)))();
    const delivery = {
      run_id: 1,
      entry: 'notify[0] exec (page)',
      events: ['change'],
      outcome: 'delivered' as const,
      tries: 1,
      detail: null,
    };
    recordDelivery(db, { ...delivery, at: at(0).toISOString() });
    recordDelivery(db, { ...delivery, at: at(100).toISOString() });
    recordAsked(db, [
      {
        list: 'web',
        name: 'old.avcloud.example',
        entry: '*.avcloud.example',
        client: '192.0.2.100',
        at: at(0).toISOString(),
      },
      {
        list: 'web',
        name: 'new.avcloud.example',
        entry: '*.avcloud.example',
        client: '192.0.2.100',
        at: at(100).toISOString(),
      },
    ]);
    const result = prune(db, at(50), at(200));
    expect(result).toMatchObject({ audit: 2, presence: 1, notifications: 1, learned: 1 });
    expect(db.prepare('SELECT name FROM learned').pluck().all()).toEqual(['new.avcloud.example']);
    expect(lastDeliveries(db)).toEqual([{ ...delivery, at: at(100).toISOString() }]);
    expect(db.prepare('SELECT seq FROM audit ORDER BY seq').all()).toEqual([{ seq: 3 }, { seq: 4 }]);
    expect(verifyAudit(db)).toMatchObject({ ok: true, entries: 2 });
    expect(() => db.prepare('DELETE FROM audit WHERE seq = 3').run()).toThrow(/append-only/);
    db.exec("DROP TRIGGER audit_no_update; UPDATE audit SET address = '203.0.113.1' WHERE seq = 3");
    expect(verifyAudit(db)).toMatchObject({ ok: false, firstBad: { seq: 3 } });
  });
});

describe('run lock', () => {
  it('a second holder is refused with exit 4, naming the first', () => {
    const lock = acquireLock(path, 'sync');
    try {
      acquireLock(path, 'sync');
      throw new Error('expected the lock to be held');
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(4);
      expect((err as Error).message).toContain(`pid ${process.pid} on ${hostname()} (dnsfence sync`);
    } finally {
      lock.release();
    }
    acquireLock(path, 'sync').release();
  });

  it('appears with its holder already in it, and clears what killed runs left beside it', () => {
    // What a run killed while taking the lock leaves: its own file, or a stale lock moved aside;
    // never an empty lock. Litter after ten seconds, and possibly still in use before.
    const litter = [`${path}.lock.999998.tmp`, `${path}.lock.stale.999998`];
    const fresh = `${path}.lock.999999.tmp`;
    for (const file of [...litter, fresh]) writeFileSync(file, '');
    for (const file of litter) utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    writeFileSync(`${path}.lockdown`, '');
    const lock = acquireLock(path, 'sync');
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({
      pid: process.pid,
      command: 'sync',
    });
    lock.release();
    expect(
      readdirSync(dir.path)
        .filter((f) => f.includes('.lock'))
        .sort(),
    ).toEqual(['dnsfence.db.lock.999999.tmp', 'dnsfence.db.lockdown']);
  });

  it('writes its holder through no link planted where it writes it first', () => {
    const victim = join(dir.path, 'victim');
    writeFileSync(victim, 'keep me\n');
    symlinkSync(victim, `${path}.lock.${process.pid}.tmp`);
    acquireLock(path, 'sync').release();
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
  });

  it('a lock left by a process that no longer exists is taken over', async () => {
    const child = spawn('true');
    const pid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    writeFileSync(
      `${path}.lock`,
      JSON.stringify({ pid, host: hostname(), command: 'sync', since: '2026-01-01T00:00:00Z' }),
    );
    const lock = acquireLock(path, 'sync');
    lock.release();
  });
});
