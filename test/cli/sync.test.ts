import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, setElements, waitFor } from '../helpers.js';

import {
  dir,
  listFile,
  nftApplied,
  nftWrites,
  ns,
  run,
  sleep,
  sync,
  syncWaitingOnSlowName,
  table,
  useCliWorld,
  v4,
  writeConfig,
  zone,
} from './world.js';

useCliWorld();

describe('dnsfence sync, end to end', () => {
  it('fills the nft sets and the list file; a second sync with no DNS change writes nothing', async () => {
    writeConfig();
    const first = await sync();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('local  web  + 192.0.2.1  www.example.com  (dns)');
    expect(v4()).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    expect(setElements(ns, 'inet', table, 'web_v6')).toEqual(['2001:db8::1']);
    expect(listFile()).toBe('192.0.2.1\n198.51.100.1\n198.51.100.2\n2001:db8::1\n');
    expect(nftWrites()).toBe(1);
    expect(statSync(join(dir.path, 'dnsfence.db')).mode & 0o777).toBe(0o600);

    const second = await sync();
    expect(second).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(nftWrites()).toBe(1);
  });

  it('follows a DNS change, keeps the old address for the retention, then removes it as expired', async () => {
    writeConfig('retention: 4s');
    await sync();
    zone.set('www.example.com', { a: ['192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 60 });
    const changed = await sync();
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain('+ 192.0.2.2  www.example.com  (dns)');
    expect(v4()).toContain('192.0.2.1');
    await sleep(4200);
    const aged = await sync();
    expect(aged.code).toBe(0);
    expect(aged.stdout).toMatch(
      /local {2}web {2}- 192\.0\.2\.1 {2}www\.example\.com {2}\(expired: last seen .*, retention 4s\)/,
    );
    expect(v4()).toEqual(['192.0.2.2', '198.51.100.1', '198.51.100.2']);
  });

  it('max_remove holds a list back (exit 3) unless --force, which the audit log records', async () => {
    writeConfig('retention: 1s');
    await sync();
    zone.set('www.example.com', { behaviour: 'nxdomain' });
    zone.set('api.example.com', { behaviour: 'nxdomain' });
    await sleep(1200);
    const held = await sync();
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(
      /local\/web: would remove 4 of 4 entries \(max_remove 0\.5 allows 2\); held back \(use --force to apply\)/,
    );
    expect(held.stdout).toContain('[held back]');
    expect(v4()).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    const forced = await sync('--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/- 192\.0\.2\.1 {2}www\.example\.com {2}\(forced: expired/);
    expect(v4()).toEqual([]);
    const csv = (await run('report', '--format', 'csv')).stdout;
    expect(csv.split('\r\n').filter((l) => l.includes(',removed,') && l.includes(',forced,'))).toHaveLength(
      8,
    );
  });

  it('removes one expired address of several without --force', async () => {
    writeConfig('retention: 1s\nsafety: { max_remove: 0.5 }');
    await sync();
    zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 60 });
    await sleep(1200);
    const r = await sync();
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      'local  web  - 198.51.100.2  api.example.com  (expired: last seen ' +
        r.stdout.match(/last seen (\S+),/)![1] +
        ', retention 1s)\nexport  web  - 198.51.100.2  api.example.com  (expired: last seen ' +
        r.stdout.match(/last seen (\S+),/)![1] +
        ', retention 1s)',
    );
  });

  it('a DNS outage removes nothing and exits 3', async () => {
    writeConfig('retention: 1s');
    await sync();
    zone.set('www.example.com', { behaviour: 'servfail' });
    zone.set('api.example.com', { behaviour: 'drop' });
    await sleep(1200);
    const r = await sync();
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/www\.example\.com A: servfail/);
    expect(r.stderr).toMatch(/api\.example\.com A: timeout/);
    expect(r.stderr).toMatch(/its last good addresses are kept/);
    expect(v4()).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    expect(listFile()).toContain('2001:db8::1');
  });

  it('restores an element deleted by hand and logs it as drift', async () => {
    writeConfig();
    await sync();
    ns.exec(['delete', 'element', 'inet', table, 'web_v4', '{ 198.51.100.1 }']);
    const r = await sync();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'local  web  + 198.51.100.1  api.example.com  (drift: missing on the target; restored)',
    );
    expect(v4()).toContain('198.51.100.1');
    const report = JSON.parse((await run('report', '--format', 'json')).stdout) as {
      rows: { reason: string; address: string }[];
    };
    expect(report.rows.filter((x) => x.reason === 'drift').map((x) => x.address)).toEqual(['198.51.100.1']);
  });

  it('--dry-run, --target and --list narrow a sync', async () => {
    writeConfig('', '  web:\n    names: [www.example.com]\n  api:\n    names: [api.example.com]\n');
    const dry = await sync('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('local  web  + 192.0.2.1  www.example.com  (dns)');
    expect(nftWrites()).toBe(0);
    expect(existsSync(join(dir.path, 'lists'))).toBe(false);
    const one = await sync('--target', 'export', '--list', 'api');
    expect(one.code).toBe(0);
    expect(one.stdout.trim().split('\n')).toEqual([
      'export  api  + 198.51.100.1  api.example.com  (dns)',
      'export  api  + 198.51.100.2  api.example.com  (dns)',
    ]);
    expect(nftWrites()).toBe(0);
    expect(existsSync(join(dir.path, 'lists', 'web.txt'))).toBe(false);
    const bad = await sync('--list', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--list nope: no such list \(have: web, api\)/);
  });

  it('plan shows what sync would do and writes nothing', async () => {
    writeConfig();
    const r = await run('plan');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('local  web  + 192.0.2.1');
    expect(nftWrites()).toBe(0);
    expect(existsSync(join(dir.path, 'lists'))).toBe(false);
    const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM presence').get()).toEqual({ n: 0 });
    db.close();
  });

  it('two syncs at once: the second exits 4 and names the first', async () => {
    const { running: first } = await syncWaitingOnSlowName(1500);
    const second = await sync();
    expect(second.code).toBe(4);
    expect(second.stderr.trim()).toMatch(
      new RegExp(`another dnsfence run holds the lock: pid ${first.pid} on .* \\(dnsfence sync, since`),
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect((await first).code).toBe(0);
  });

  it('plan is not kept waiting while a sync resolves slow names', async () => {
    const { running: first } = await syncWaitingOnSlowName(
      2500,
      '  web:\n    names: [www.example.com]\n  slow:\n    names: [slow.example.com]\n',
    );
    await sleep(300);
    const started = Date.now();
    const plan = await run('plan', '--list', 'web');
    // The sync commits its answers in short transactions, never holding the write lock through a slow lookup.
    expect(plan.code, plan.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(1800);
    expect((await first).code).toBe(0);
  });

  it('a sync killed with SIGKILL after the firewall write is completed by the next one', async () => {
    writeConfig();
    writeFileSync(join(dir.path, 'pause'), '30');
    const victim = sync();
    await waitFor(() => nftApplied() === 1, 10_000, 'the nft write');
    process.kill(victim.pid, 'SIGKILL');
    await victim;
    rmSync(join(dir.path, 'pause'));
    // The lock of the killed run is stale; the next sync takes it and catches the audit log up.
    const next = await sync();
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(
      '+ 192.0.2.1  www.example.com  (drift: found on the target; not in the audit log)  [recorded only]',
    );
    expect(nftWrites()).toBe(1);
    expect((await run('audit', 'verify')).code).toBe(0);
    const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
    expect(db.prepare('SELECT outcome FROM runs ORDER BY id').all()).toEqual([
      { outcome: 'interrupted' },
      { outcome: 'ok' },
    ]);
    db.close();
    expect((await sync()).stdout).toBe('');
  });

  it('SIGTERM or Ctrl-C during a sync: one line, the run recorded as interrupted at once, exit 143 or 130', async () => {
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const { running } = await syncWaitingOnSlowName(3000);
      await sleep(300);
      process.kill(running.pid, signal);
      const r = await running;
      expect(r.code).toBe(code);
      expect(r.stderr.trim()).toMatch(
        new RegExp(
          `^sync: interrupted by ${signal}; nothing half-applied: run \\d+ is recorded as interrupted and the next sync completes what this one left$`,
        ),
      );
      expect(existsSync(join(dir.path, 'dnsfence.db.lock'))).toBe(false);
      const status = JSON.parse((await run('--json', 'status')).stdout) as {
        last_run: { outcome: string; exit_code: number; finished_at: string | null };
      };
      expect(status.last_run).toMatchObject({ outcome: 'interrupted', exit_code: code });
      expect(status.last_run.finished_at).not.toBeNull();
    }
    zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60 });
    expect((await sync()).code).toBe(0);
  });

  it('a sync killed during resolution leaves a database the next sync uses without repair', async () => {
    const { running: victim } = await syncWaitingOnSlowName(2000);
    await sleep(200);
    process.kill(victim.pid, 'SIGKILL');
    await victim;
    zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60 });
    const next = await sync();
    expect(next.code).toBe(0);
    expect(v4()).toEqual(['192.0.2.1', '203.0.113.9']);
  });

  it('audit verify fails, naming the entry, after a row is edited with the sqlite3 CLI', async () => {
    writeConfig();
    await sync();
    expect((await run('audit', 'verify')).code).toBe(0);
    execFileSync('sqlite3', [
      join(dir.path, 'dnsfence.db'),
      "DROP TRIGGER audit_no_update; UPDATE audit SET address = '203.0.113.66' WHERE seq = 2;",
    ]);
    const r = await run('audit', 'verify');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('audit log BROKEN at entry 2: content does not match its hash (altered)');
    const report = await run('report');
    expect(report.stdout).toMatch(/audit chain\s+BROKEN: entry 2/);
  });

  it('a bad configuration exits 2 with one line naming the key, and no stack trace', async () => {
    writeFileSync(join(dir.path, 'dnsfence.yaml'), 'lists:\n  web:\n    names: ["*.example.com"]\n');
    const r = await sync();
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/dnsfence\.yaml: lists\.web\.names\[0\]: "\*\.example\.com" is a wildcard/);
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    const missing = await cli(['-c', join(dir.path, 'nope.yaml'), 'status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /nope\.yaml: cannot read the configuration: no such file or directory \(ENOENT\) \(create one with `dnsfence init`, or pass -c FILE\)/,
    );
  });

  it('a failing target does not stop the others and exits 1', async () => {
    writeConfig();
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(/nft: \[.*\]/, 'nft: [/nonexistent/nft]'),
    );
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/target local: \/nonexistent\/nft not found/);
    expect(listFile()).toContain('192.0.2.1');
    const status = JSON.parse((await run('--json', 'status')).stdout) as {
      targets: { target: string; last_push: { outcome: string } }[];
    };
    expect(status.targets.map((t) => [t.target, t.last_push.outcome])).toEqual([
      ['local', 'failed'],
      ['export', 'ok'],
    ]);
  });

  it('reports in text, csv and json, and --json output parses', async () => {
    writeConfig();
    const s = await run('--json', 'sync');
    const doc = JSON.parse(s.stdout) as {
      exit_code: number;
      targets: {
        target: string;
        plan: { operations: { description: string }[] };
        push: { applied: unknown[] };
      }[];
    };
    expect(doc.exit_code).toBe(0);
    expect(doc.targets[0]!.push.applied).toHaveLength(4);
    // What nft was asked to create, besides the entries, is part of the plan and of what was done.
    expect(doc.targets[0]!.plan.operations.map((o) => o.description)).toContain(`create table inet ${table}`);
    const csv = await run('report', '--format', 'csv');
    expect(csv.stdout.split('\r\n')[0]).toBe(
      'time,target,list,action,address,names,reason,detail,run_id,seq',
    );
    expect(csv.stdout.split('\r\n').filter(Boolean)).toHaveLength(9);
    const text = await run('report', '--list', 'web', '--target', 'export');
    expect(text.stdout).toMatch(/changes\s+4 added, 0 removed/);
    const md = await run('report', '--format', 'md');
    expect(md.stdout).toContain('| changes | 8 added, 0 removed |');
    expect(md.stdout).toMatch(
      /\| .*Z \| local \| web \| added \| 192\.0\.2\.1 \| www\.example\.com \| dns \| 1 \|/,
    );
    const html = (await run('report', '--format', 'html')).stdout;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h3>local/web</h3>');
    expect(html).toMatch(/<svg [^>]*>[\s\S]*class="add"/);
    // Self-contained: nothing to fetch when opened offline.
    expect(html).not.toMatch(/(src|href)=|@import|url\(/);
    const out = join(dir.path, 'report.json');
    await run('report', '--format', 'json', '--output', out);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(
      (JSON.parse(readFileSync(out, 'utf8')) as { summary: { chain: { verified: boolean } } }).summary.chain
        .verified,
    ).toBe(true);
  });
});
