import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from '../fakes/dns.js';
import { cli, requireRoot, startZone, tempDir } from '../helpers.js';
import { campaignCase, listSet, prng, repeat, recordSecretScan } from './campaign.js';

let zone: TestZoneServer;
let port: number;
let dir: ReturnType<typeof tempDir>;
const BIN = fileURLToPath(new URL('../../bin/dnsfence.cjs', import.meta.url));
const POOL = [
  '192.0.2.1',
  '192.0.2.2',
  '192.0.2.3',
  '198.51.100.1',
  '198.51.100.2',
  '203.0.113.1',
  '203.0.113.2',
  '203.0.113.3',
];

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
});
afterAll(() => zone.stop());
beforeEach(() => {
  dir = tempDir();
  for (const n of ['a', 'b', 'c']) zone.set(`${n}.example.com`, { a: [POOL[0] as string], ttl: 60 });
});
afterEach(() => dir.cleanup());

function config(database = 'dnsfence.db', retention = '1s'): string {
  const path = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    path,
    `database: ${database}\nresolvers: ["127.0.0.1:${port}"]\nresolve: { timeout: 1s, attempts: 1, families: [ipv4] }\nretention: ${retention}\nsafety: { max_remove: 1 }\nlists:\n  web:\n    names: [a.example.com, b.example.com, c.example.com]\ntargets:\n  out: { type: file, dir: lists }\n`,
  );
  return path;
}
const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
const list = () => listSet(join(dir.path, 'lists', 'web.txt'));

/**
 * Runs a shell script in a private mount namespace (unshare -m), so test mounts never reach the
 * host. Asynchronously: the DNS server the CLI asks lives in this process's event loop.
 */
async function inMountNamespace(script: string): Promise<void> {
  requireRoot('unshare -m');
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`unshare script failed: ${stderr}`);
}

describe('fault campaign: process and storage', () => {
  it('a corrupted database file: exit 1, one line, nothing pushed', () =>
    campaignCase({ group: 'storage', name: 'corrupted database file', runs: 1 }, async (measure) => {
      config();
      writeFileSync(join(dir.path, 'dnsfence.db'), Buffer.alloc(8192, 0x5a));
      const r = await run('sync');
      measure.outcome = `exit ${r.code}`;
      measure.lost = list().size;
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/dnsfence\.db: not a dnsfence database or corrupted .*nothing was pushed/);
      expect(list().size).toBe(0);
    }));

  it('a database from a newer schema: exit 1, nothing pushed', () =>
    campaignCase({ group: 'storage', name: 'database from a newer schema', runs: 1 }, async (measure) => {
      config();
      await run('db', 'migrate');
      const db = new Database(join(dir.path, 'dnsfence.db'));
      db.prepare("INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01T00:00:00Z')").run();
      db.close();
      const r = await run('sync');
      measure.outcome = `exit ${r.code}`;
      measure.lost = list().size;
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(
        /schema version 99 is newer than this dnsfence knows \(\d+\); upgrade dnsfence$/,
      );
      expect(list().size).toBe(0);
    }));

  it('a read-only database directory: exit 1, one line, nothing pushed', () =>
    campaignCase({ group: 'storage', name: 'read-only database directory', runs: 1 }, async (measure) => {
      config('ro/dnsfence.db');
      mkdirSync(join(dir.path, 'ro'));
      const d = dir.path;
      await inMountNamespace(
        `mount -t tmpfs -o size=1m,ro tmpfs ${d}/ro && ${process.execPath} ${BIN} -c ${d}/dnsfence.yaml sync >${d}/out 2>${d}/err; echo $? >${d}/rc`,
      );
      const code = Number(readFileSync(join(d, 'rc'), 'utf8'));
      const err = readFileSync(join(d, 'err'), 'utf8');
      measure.outcome = `exit ${code}`;
      measure.lost = list().size;
      expect(code).toBe(1);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(/dnsfence\.db\.lock: cannot create the lock file: read-only file system \(EROFS\)/);
      expect(list().size).toBe(0);
    }));

  it('disk full while writing: exit 1, one line; with space again the next sync completes and the chain verifies', () =>
    campaignCase(
      { group: 'storage', name: 'disk full during a write (160 KiB tmpfs)', runs: 1 },
      async (measure) => {
        const names = Array.from({ length: 300 }, (_, i) => `n${i}.example.com`);
        for (const [i, n] of names.entries())
          zone.set(n, { a: [`203.0.113.${(i % 250) + 1}`, `198.51.100.${(i % 250) + 1}`], ttl: 60 });
        config('small/dnsfence.db');
        writeFileSync(
          join(dir.path, 'dnsfence.yaml'),
          readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(
            'names: [a.example.com, b.example.com, c.example.com]',
            `names: [${names.join(', ')}]`,
          ),
        );
        mkdirSync(join(dir.path, 'small'));
        const d = dir.path;
        const dnsfence = `${process.execPath} ${BIN} -c ${d}/dnsfence.yaml`;
        await inMountNamespace(
          [
            `mount -t tmpfs -o size=160k tmpfs ${d}/small`,
            `${dnsfence} sync >${d}/out1 2>${d}/err1; echo $? >${d}/rc1`,
            `mount -o remount,size=16m ${d}/small`,
            `${dnsfence} sync >${d}/out2 2>${d}/err2; echo $? >${d}/rc2`,
            `${dnsfence} audit verify >${d}/out3 2>${d}/err3; echo $? >${d}/rc3`,
            `${dnsfence} --json db info >${d}/info 2>&1`,
          ].join('; '),
        );
        const rc = (n: number) => Number(readFileSync(join(d, `rc${n}`), 'utf8'));
        const err1 = readFileSync(join(d, 'err1'), 'utf8');
        const applied = (JSON.parse(readFileSync(join(d, 'info'), 'utf8')) as { rows: { applied: number } })
          .rows.applied;
        const lost = Math.abs(list().size - applied);
        measure.outcome = `exit ${rc(1)}, then ${rc(2)}`;
        measure.lost = lost;
        expect(rc(1)).toBe(1);
        expect(err1.trim().split('\n')).toHaveLength(1);
        expect(err1).toMatch(/dnsfence\.db: disk full while writing the database/);
        expect(rc(2)).toBe(0);
        expect(rc(3)).toBe(0);
        expect(list().size).toBe(500);
        expect(lost).toBe(0);
      },
    ));

  it(
    'SIGKILL at random points of many syncs: each clean sync afterwards leaves a verified chain and a list equal to the audit log',
    () =>
      campaignCase(
        {
          group: 'process',
          name: 'SIGKILL at a random point, then a clean sync (seed 20261128)',
          runs: repeat(200, 8),
        },
        async (measure) => {
          // Retention 1 ms (0 is refused as a mistake): every answer of a pass carries the pass's one
          // time, so an address leaves as soon as DNS stops giving it. With a longer retention, whether
          // the plan after the clean sync still shows an expiry would depend on how fast the rounds
          // run, not on what the kill did.
          config('dnsfence.db', '1ms');
          const random = prng(20261128);
          const rounds = repeat(200, 8);
          measure.outcome = 'none killed yet';
          let lost = 0;
          let killed = 0;
          // Kill times are drawn over the length of a whole sync on this machine (measured once), so
          // that kills land in every phase of a run however fast the machine is.
          const began = Date.now();
          expect((await run('sync')).code).toBe(0);
          const span = Math.max(200, (Date.now() - began) * 1.2);
          for (let i = 0; i < rounds; i++) {
            for (const n of ['a', 'b', 'c']) {
              const answer = POOL.filter(() => random() < 0.35);
              zone.set(`${n}.example.com`, { a: answer, ttl: 60 });
            }
            const victim = run('sync');
            await new Promise((r) => setTimeout(r, Math.floor(random() * span)));
            try {
              process.kill(victim.pid, 'SIGKILL');
              killed += 1;
            } catch {
              // it had already finished
            }
            await victim;
            const clean = await run('sync');
            expect(clean.code, clean.stderr).toBe(0);
            expect((await run('audit', 'verify')).code).toBe(0);
            const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
            const applied = new Set(
              (
                db.prepare("SELECT address FROM applied WHERE target = 'out'").all() as { address: string }[]
              ).map((r) => r.address),
            );
            db.close();
            const onDisk = list();
            const diff =
              [...applied].filter((a) => !onDisk.has(a)).length +
              [...onDisk].filter((a) => !applied.has(a)).length;
            lost += diff;
            // Kept up to date, so that a failing round shows in the table with what it found.
            measure.outcome = `${killed} killed, ${i + 1} of ${rounds} rounds recovered`;
            measure.lost = lost;
            const plan = await run('plan');
            expect(plan.stdout.trim()).toBe('out: no changes');
          }
          measure.outcome = `${killed} killed, all recovered`;
          expect(lost).toBe(0);
        },
      ),
    900_000,
  );
});

afterAll(() => recordSecretScan('process and storage faults'));
