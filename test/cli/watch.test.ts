import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers.js';

import {
  dir,
  listFile,
  nftWrites,
  ns,
  run,
  sleep,
  sync,
  table,
  useCliWorld,
  v4,
  writeConfig,
  zone,
} from './world.js';

useCliWorld();

describe('watch', () => {
  it('follows a DNS change within TTL + 2 s, keeps the lock, and lets read-only commands run', async () => {
    zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 2 });
    writeConfig();
    const watcher = run('watch', '--min-interval', '1s', '--max-interval', '1h');
    try {
      await waitFor(() => v4().includes('192.0.2.1'), 10_000, 'the first sync');
      const concurrent = await sync();
      expect(concurrent.code).toBe(4);
      expect(concurrent.stderr).toMatch(new RegExp(`pid ${watcher.pid} .*\\(dnsfence watch`));
      expect((await run('status')).code).toBe(0);
      zone.set('www.example.com', { a: ['192.0.2.99'], aaaa: ['2001:db8::1'], ttl: 2 });
      const changed = Date.now();
      await waitFor(() => v4().includes('192.0.2.99'), 4000, 'the change to reach nft within TTL + 2 s');
      expect(Date.now() - changed).toBeLessThanOrEqual(4000);
      expect(listFile()).toContain('192.0.2.99');
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    // Change lines go to stdout, as sync prints them, each with the time of its sync.
    expect(done.stdout).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}local {2}web {2}\+ 192\.0\.2\.99 {2}www\.example\.com {2}\(dns\)$/m,
    );
    expect(done.stderr).not.toMatch(/192\.0\.2\.99/);
    expect(done.stderr).toMatch(/watch: stopped/);
    expect(existsSync(join(dir.path, 'dnsfence.db.lock'))).toBe(false);
  });

  it('refuses a broken configuration on SIGHUP, keeps the old one; SIGTERM finishes the push in flight', async () => {
    zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 1 });
    writeConfig();
    const watcher = run('--json', 'watch', '--min-interval', '1s');
    await waitFor(() => v4().includes('192.0.2.1'), 10_000, 'the first sync');
    const good = readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8');
    writeFileSync(join(dir.path, 'dnsfence.yaml'), 'lists: [broken\n');
    process.kill(watcher.pid, 'SIGHUP');
    await sleep(500);
    writeFileSync(join(dir.path, 'dnsfence.yaml'), good);
    // Still following DNS with the old configuration.
    writeFileSync(join(dir.path, 'pause'), '2');
    zone.set('www.example.com', { a: ['192.0.2.50'], aaaa: ['2001:db8::1'], ttl: 1 });
    const writes = nftWrites();
    await waitFor(() => nftWrites() > writes, 8000, 'the next nft write');
    process.kill(watcher.pid, 'SIGTERM');
    const done = await watcher;
    expect(done.code).toBe(0);
    const events = done.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; message: string });
    expect(
      events.some(
        (e) =>
          e.level === 'error' &&
          /new configuration refused, keeping the old one: .*invalid YAML/.test(e.message),
      ),
    ).toBe(true);
    const changes = done.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; address: string; action: string; target: string });
    expect(changes).toContainEqual(
      expect.objectContaining({ target: 'local', action: 'added', address: '192.0.2.50' }),
    );
    expect(v4()).toContain('192.0.2.50');
    // The push that was in flight at SIGTERM is in the audit log.
    const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
    expect(
      db.prepare("SELECT count(*) AS n FROM audit WHERE address = '192.0.2.50' AND target = 'local'").get(),
    ).toEqual({ n: 1 });
    db.close();
  });
});

describe('watch: drift and settings', () => {
  it('re-reads every target each --drift-interval and restores a flushed set, writing nothing while nothing drifted', async () => {
    writeConfig();
    const watcher = run('watch', '--drift-interval', '1s');
    try {
      await waitFor(() => v4().includes('192.0.2.1'), 10_000, 'the first sync');
      const writes = nftWrites();
      const reads = () =>
        readFileSync(join(dir.path, 'nft.log'), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('-j')).length;
      const readsBefore = reads();
      await sleep(2500);
      // Reads only: at least one drift check happened, and no write.
      expect(reads()).toBeGreaterThan(readsBefore);
      expect(nftWrites()).toBe(writes);
      ns.exec(['flush', 'set', 'inet', table, 'web_v4']);
      const flushed = Date.now();
      await waitFor(() => v4().includes('192.0.2.1'), 5000, 'the flushed set to be restored');
      expect(Date.now() - flushed).toBeLessThan(5000);
      expect(v4()).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(
      /local {2}web {2}\+ 192\.0\.2\.1 {2}www\.example\.com {2}\(drift: missing on the target; restored\)/,
    );
  });

  it('refuses intervals that are too short, and a reload to a configuration without targets', async () => {
    writeConfig();
    const short = await run('watch', '--min-interval', '0s');
    expect(short.code).toBe(2);
    expect(short.stderr.trim()).toBe('dnsfence: --min-interval: 0s is too short (at least 1s)');
    expect((await run('watch', '--drift-interval', 'soon')).stderr.trim()).toBe(
      'dnsfence: --drift-interval: "soon" is not a duration such as 60s or 1h',
    );
    const watcher = run('watch');
    await waitFor(() => v4().includes('192.0.2.1'), 10_000, 'the first sync');
    const good = readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8');
    writeFileSync(join(dir.path, 'dnsfence.yaml'), good.replace(/\ntargets:[\s\S]*$/, '\n'));
    process.kill(watcher.pid, 'SIGHUP');
    await sleep(500);
    process.kill(watcher.pid, 'SIGTERM');
    const done = await watcher;
    expect(done.stderr).toMatch(
      /error: watch: new configuration refused, keeping the old one: .*dnsfence\.yaml: targets: none configured; a watch without targets pushes nothing/,
    );
  });
});

describe('quiet and the metrics file', () => {
  it('an empty configuration file is refused with exit 2 and what to do', async () => {
    writeFileSync(join(dir.path, 'dnsfence.yaml'), '# nothing here yet\n');
    const r = await sync();
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `dnsfence: ${join(dir.path, 'dnsfence.yaml')}: the configuration is empty: no lists, no targets (dnsfence init writes a commented starter)`,
    );
  });

  it('-q prints no change lines; a preview still prints its plan', async () => {
    writeConfig();
    expect((await run('-q', 'sync', '--dry-run')).stdout).toContain('+ 192.0.2.1');
    const quiet = await run('-q', 'sync');
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(v4()).toContain('192.0.2.1');
  });

  it('a metrics file that cannot be written is refused before the run (exit 2); a later failure is a warning', async () => {
    writeConfig();
    const bad = await sync('--metrics-file', '/nonexistent/m.prom');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'dnsfence: --metrics-file /nonexistent/m.prom: cannot write there: /nonexistent: no such file or directory (ENOENT)',
    );
    expect(existsSync(join(dir.path, 'dnsfence.db'))).toBe(false);
    // A folder that disappears after the check: the sync still succeeds and says why no metrics came.
    const metrics = join(dir.path, 'metrics');
    mkdirSync(metrics);
    const watcher = run('watch', '--metrics-file', join(metrics, 'm.prom'), '--drift-interval', '1s');
    await waitFor(() => existsSync(join(metrics, 'm.prom')), 10_000, 'the first metrics file');
    rmSync(metrics, { recursive: true });
    ns.exec(['flush', 'set', 'inet', table, 'web_v4']);
    await waitFor(() => v4().includes('192.0.2.1'), 5000, 'the restore after the folder went');
    await sleep(300);
    process.kill(watcher.pid, 'SIGTERM');
    const done = await watcher;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(
      /warn: --metrics-file .*m\.prom: not written: no such file or directory \(ENOENT\)/,
    );
  });
});
