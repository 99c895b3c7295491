import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ZoneServer } from '../src/demo/dns-server.js';
import { systemResolvers } from '../src/resolver/servers.js';
import { loadMigrations } from '../src/store/migrate.js';
import {
  BIN,
  cli,
  netns,
  selfSignedCert,
  setElements,
  startDoh,
  startZone,
  tempDir,
  waitFor,
} from './helpers.js';

let zone: ZoneServer;
let port: number;
let ns: ReturnType<typeof netns>;
let dir: ReturnType<typeof tempDir>;
let table: string;
let counter = 0;

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
  ns = netns();
});

afterAll(async () => {
  await zone.stop();
  ns.cleanup();
});

beforeEach(() => {
  dir = tempDir();
  counter += 1;
  table = `e2e${counter}`;
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 60 });
  zone.set('api.example.com', { a: ['198.51.100.1', '198.51.100.2'], ttl: 60 });
  zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60 });
  // A wrapper around nft in the namespace that logs every call, marks each completed write, and can
  // pause after one.
  writeFileSync(
    join(dir.path, 'nft'),
    `#!/bin/sh\necho "$*" >> ${dir.path}/nft.log\n${ns.nft.join(' ')} "$@"\nrc=$?\nif [ "$1" = "-f" ]; then echo applied >> ${dir.path}/nft.log; fi\nif [ "$1" = "-f" ] && [ -f ${dir.path}/pause ]; then sleep $(cat ${dir.path}/pause); fi\nexit $rc\n`,
  );
  chmodSync(join(dir.path, 'nft'), 0o755);
});

afterEach(() => dir.cleanup());

function writeConfig(extra = '', lists = '  web:\n    names: [www.example.com, api.example.com]\n'): string {
  const path = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    path,
    `resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 3s, attempts: 1 }
${extra}
lists:
${lists}
targets:
  local:
    type: nftables
    table: ${table}
    nft: [${join(dir.path, 'nft')}]
  export:
    type: file
    dir: lists
`,
  );
  return path;
}

const sync = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync', ...args]);
const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
const v4 = () => setElements(ns, 'inet', table, 'web_v4');
const nftWrites = () =>
  existsSync(join(dir.path, 'nft.log'))
    ? readFileSync(join(dir.path, 'nft.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('-f')).length
    : 0;
// Writes nft has finished: a caller killed after this point has changed the firewall for certain.
const nftApplied = () =>
  existsSync(join(dir.path, 'nft.log'))
    ? readFileSync(join(dir.path, 'nft.log'), 'utf8')
        .split('\n')
        .filter((l) => l === 'applied').length
    : 0;
const listFile = () => readFileSync(join(dir.path, 'lists', 'web.txt'), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a sync and hands it over once it holds the lock, still waiting for slow.example.com's
 * answer (wrapped: awaiting the run itself would wait for it to end).
 */
async function syncWaitingOnSlowName(
  delayMs: number,
  lists = '  web:\n    names: [www.example.com, slow.example.com]\n',
): Promise<{ running: ReturnType<typeof sync> }> {
  writeConfig('', lists);
  zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60, delayMs });
  const running = sync();
  await waitFor(() => existsSync(join(dir.path, 'dnsfence.db.lock')), 5000, 'the lock file');
  return { running };
}

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
    const doc = JSON.parse(s.stdout) as { exit_code: number; targets: { changes: unknown[] }[] };
    expect(doc.exit_code).toBe(0);
    expect(doc.targets[0]!.changes).toHaveLength(4);
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

describe('when the configuration, not DNS, changes what a list holds', () => {
  const reasons = () => {
    const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
    const rows = db
      .prepare('SELECT target, list, action, address, reason, detail FROM audit ORDER BY seq')
      .all();
    db.close();
    return rows as {
      target: string;
      list: string;
      action: string;
      address: string;
      reason: string;
      detail: string;
    }[];
  };
  const edit = (from: string | RegExp, to: string) =>
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(from, to),
    );

  it('another table: entries enter it for reason config, the old table is named with the command that removes it', async () => {
    writeConfig();
    await sync();
    const before = reasons().length;
    edit(`table: ${table}`, `table: ${table}b`);
    const moved = await sync();
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(
      `local  web  + 192.0.2.1  www.example.com  (config: the list moved here from sets web_v4 and web_v6 in table inet ${table}`,
    );
    expect(moved.stdout).toMatch(
      /local {2}web {2}- 192\.0\.2\.1 .*\(config: left in sets web_v4 and web_v6 in table inet e2e\d+ .*\) {2}\[recorded only\]/,
    );
    const removal = new RegExp(
      `remove it with: (.*delete set inet ${table} web_v4; .*delete set inet ${table} web_v6)$`,
      'm',
    );
    expect(moved.stderr).toMatch(
      new RegExp(
        `warn: target local: list web now lives in sets web_v4 and web_v6 in table inet ${table}b .*; the 4 entries dnsfence put in sets web_v4 and web_v6 in table inet ${table} .*stay there`,
      ),
    );
    const added = reasons()
      .slice(before)
      .filter((r) => r.target === 'local');
    expect(new Set(added.map((r) => r.reason))).toEqual(new Set(['config']));
    expect(setElements(ns, 'inet', `${table}b`, 'web_v4')).toEqual([
      '192.0.2.1',
      '198.51.100.1',
      '198.51.100.2',
    ]);
    const status = await run('status');
    expect(status.stdout).toContain('left behind (filled by dnsfence, no longer configured)');
    expect(status.stdout).toMatch(removal);
    // The command it names works, and the next sync is quiet.
    const command = (removal.exec(status.stdout) as RegExpExecArray)[1] as string;
    execFileSync('sh', ['-c', command]);
    expect(() => ns.exec(['list', 'set', 'inet', table, 'web_v4'])).toThrow();
    expect(await sync()).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('another folder for a file target: reason config, the old file named', async () => {
    writeConfig();
    await sync();
    edit('dir: lists', 'dir: lists2');
    const moved = await sync();
    expect(moved.stdout).toContain(
      `export  web  + 192.0.2.1  www.example.com  (config: the list moved here from file ${join(dir.path, 'lists', 'web.txt')})`,
    );
    expect(moved.stderr).toContain(`remove it with: rm ${join(dir.path, 'lists', 'web.txt')}`);
    expect(moved.stdout).not.toMatch(/\(drift/);
    expect(readFileSync(join(dir.path, 'lists2', 'web.txt'), 'utf8')).toContain('192.0.2.1');
  });

  it('a wider retention brings an expired address back for reason config, not dns', async () => {
    writeConfig('retention: 2s');
    await sync();
    zone.set('www.example.com', { a: ['192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 60 });
    await sync();
    await sleep(2500);
    const expired = await sync();
    expect(expired.stdout).toMatch(/- 192\.0\.2\.1 .*\(expired: /);
    edit('retention: 2s', 'retention: 1h');
    const widened = await sync();
    expect(widened.code).toBe(0);
    expect(widened.stdout).toContain(
      'local  web  + 192.0.2.1  www.example.com  (config: list settings changed: retention 2s → 1h)',
    );
    expect(widened.stdout).not.toMatch(/\(dns\)/);
    // Narrowed again: it leaves for reason config too.
    edit('retention: 1h', 'retention: 2s');
    const narrowed = await sync();
    expect(narrowed.stdout).toMatch(
      /- 192\.0\.2\.1 {2}www\.example\.com {2}\(config: list settings changed: retention 1h → 2s/,
    );
  });

  it('a renamed target takes the entries over without a write; a removed one is named with its removal', async () => {
    writeConfig();
    await sync();
    const writes = nftWrites();
    edit('  local:\n', '  fw:\n');
    const renamed = await sync();
    expect(renamed.code).toBe(0);
    expect(nftWrites()).toBe(writes);
    expect(renamed.stdout).toContain(
      'local  web  - 192.0.2.1  www.example.com  (config: renamed: now fw/web)  [recorded only]',
    );
    expect(renamed.stdout).toContain(
      'fw  web  + 192.0.2.1  www.example.com  (config: renamed from local/web)  [recorded only]',
    );
    expect(await sync()).toMatchObject({ code: 0, stdout: '', stderr: '' });
    edit(/ {2}fw:\n[\s\S]*?(?= {2}export:)/, '');
    const removed = await sync();
    expect(removed.code).toBe(0);
    expect(removed.stderr).toMatch(
      new RegExp(
        `warn: target fw: list web: target fw is no longer configured; the 4 entries dnsfence put in sets web_v4 and web_v6 in table inet ${table} .*stay there: remove it with: `,
      ),
    );
    expect(
      reasons()
        .filter((r) => r.target === 'fw' && r.action === 'removed')
        .map((r) => r.reason),
    ).toEqual(['config', 'config', 'config', 'config']);
    expect((await run('audit', 'verify')).code).toBe(0);
  });
});

describe('history, db info and metrics', () => {
  it('history shows the addresses of a name over time and which lists held an address', async () => {
    writeConfig('retention: 1s');
    zone.set('api.example.com', { a: ['192.0.2.1', '198.51.100.2'], ttl: 60 });
    await sync();
    zone.set('www.example.com', { a: ['192.0.2.7'], aaaa: ['2001:db8::1'], ttl: 60 });
    await sleep(1100);
    await sync();
    const name = await run('history', 'www.example.com');
    expect(name.code).toBe(0);
    expect(name.stdout).toMatch(/192\.0\.2\.1 .* ttl 60 .*\(also from api\.example\.com\)/);
    expect(name.stdout).toMatch(/192\.0\.2\.7 /);
    const address = await run('history', '192.0.2.1');
    expect(address.stdout).toMatch(/shared by 2 names: api\.example\.com, www\.example\.com/);
    expect(address.stdout).toMatch(/local\/web {2}\S+ \S+ \(dns\) \.\. now/);
    const json = JSON.parse((await run('--json', 'history', '198.51.100.2')).stdout) as {
      held: { target: string }[];
    };
    expect(json.held.map((h) => h.target).sort()).toEqual(['export', 'local']);
  });

  it('db info counts rows; --metrics-file writes Prometheus textfile metrics atomically', async () => {
    writeConfig();
    const metrics = join(dir.path, 'dnsfence.prom');
    expect((await sync('--metrics-file', metrics)).code).toBe(0);
    const text = readFileSync(metrics, 'utf8');
    expect(text).toContain('dnsfence_list_addresses{target="local",list="web"} 4');
    expect(text).toContain('dnsfence_changes_total{target="export",action="added"} 4');
    expect(text).toMatch(/dnsfence_target_last_success_timestamp_seconds\{target="local"\} \d+\.\d+/);
    expect(text).toContain('dnsfence_last_run_exit_code 0');
    const info = JSON.parse((await run('--json', 'db', 'info')).stdout) as {
      schemaVersion: number;
      rows: Record<string, number>;
    };
    expect(info.schemaVersion).toBe(loadMigrations().at(-1)!.version);
    expect(info.rows.audit).toBe(8);
    const tooShort = await run('db', 'prune', '--older-than', '1d');
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(/--older-than 1d: the configuration still needs 7d of history/);
    const pruned = await run('db', 'prune', '--older-than', '400d');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/pruned before .*: 0 audit entries .* audit chain verified/);
  });
});

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

describe('rules', () => {
  it('prints nft rules for the Intra2net profile that real nft accepts against the synced sets', async () => {
    zone.set('update.intra2net.com', { a: ['192.0.2.10'] });
    zone.set('support.intra2net.com', { a: ['192.0.2.50'] });
    writeConfig('profiles: [intra2net]', '  web:\n    names: [www.example.com]\n');
    await sync();
    const r = await run('rules', '--target', 'local', '--source', '192.0.2.100');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip saddr 192.0.2.100 ip daddr @i2n_ntp_v4 udp dport 123 accept`,
    );
    expect(r.stdout).toContain(`ip daddr @i2n_support_v4 tcp dport 5000-5050 accept`);
    const script = [
      `add chain inet ${table} forward { type filter hook forward priority filter; }`,
      ...r.stdout.split('\n').filter((l) => l.startsWith('add rule')),
    ];
    ns.exec(['-f', '-'], `${script.join('\n')}\n`);
    expect(ns.exec(['list', 'chain', 'inet', table, 'forward'])).toContain(
      '@i2n_https_v4 tcp dport 443 accept',
    );
    const file = await run('rules', '--target', 'export');
    expect(file.code).toBe(2);
  });

  it('a repeated --source adds up: rules for both families, each source in its own family', async () => {
    writeConfig('profiles: [intra2net]', '  web:\n    names: [www.example.com]\n');
    await sync();
    const r = await run(
      'rules',
      '--target',
      'local',
      '--source',
      '192.0.2.100',
      '--source',
      '2001:db8::100',
      '--source',
      '192.0.2.101',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip saddr { 192.0.2.100, 192.0.2.101 } ip daddr @i2n_https_v4 tcp dport 443 accept`,
    );
    expect(r.stdout).toContain(
      `add rule inet ${table} forward ip6 saddr 2001:db8::100 ip6 daddr @i2n_https_v6 tcp dport 443 accept`,
    );
    const script = [
      `add chain inet ${table} forward { type filter hook forward priority filter; }`,
      ...r.stdout.split('\n').filter((l) => l.startsWith('add rule')),
    ];
    ns.exec(['-f', '-'], `${script.join('\n')}\n`);
    const ros = await run('rules', '--target', 'local', '--source', '192.0.2.100', '--source', '192.0.2.101');
    expect(ros.stdout).not.toMatch(/ip6 daddr/);
  });
});

describe('systemd', () => {
  it('prints hardened units and a cron line that systemd-analyze accepts', async () => {
    writeConfig();
    const units = JSON.parse((await run('--json', 'systemd', '--interval', '10min')).stdout) as {
      service: string;
      timer: string;
      cron: string;
    };
    expect(units.service).toMatch(
      /^ExecStart=\S+node \S+bin\/dnsfence\.cjs -c \S+dnsfence\.yaml --quiet sync$/m,
    );
    expect(units.service).toContain('ProtectSystem=strict');
    expect(units.service).toContain(`ReadWritePaths=${dir.path} ${join(dir.path, 'lists')}`);
    expect(units.service).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN$/m);
    // nft over ssh needs no capability on this host.
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(/nft: \[.*\]/, 'nft: [ssh, fw1, nft]'),
    );
    const remote = JSON.parse((await run('--json', 'systemd')).stdout) as { service: string };
    expect(remote.service).toMatch(/^CapabilityBoundingSet=$/m);
    expect(units.timer).toContain('OnCalendar=*:0/10');
    expect(units.timer).toContain('Persistent=true');
    expect(units.cron).toMatch(/^\*\/10 \* \* \* \* root \S+node /);
    // A unit written before the entry point became bin/dnsfence.cjs still runs after an upgrade.
    const legacy = join(
      units.service.match(/ExecStart=\S+ (\S+)bin\/dnsfence\.cjs/)?.[1] ?? '',
      'bin/dnsfence.js',
    );
    const checked = execFileSync(
      process.execPath,
      [legacy, '-c', join(dir.path, 'dnsfence.yaml'), 'check', '--offline'],
      { encoding: 'utf8' },
    );
    expect(checked).toMatch(/^ok\s+config: /m);
    const watch = JSON.parse((await run('--json', 'systemd', '--watch')).stdout) as { service: string };
    expect(watch.service).toContain('Restart=on-failure');
    expect(watch.service).toMatch(/ExecStart=.* watch$/m);
    if (existsSync('/usr/bin/systemd-analyze')) {
      writeFileSync(join(dir.path, 'dnsfence.service'), units.service);
      writeFileSync(join(dir.path, 'dnsfence.timer'), units.timer);
      execFileSync(
        'systemd-analyze',
        ['verify', '--man=no', join(dir.path, 'dnsfence.service'), join(dir.path, 'dnsfence.timer')],
        { stdio: 'pipe' },
      );
    }
  });
});

describe('everyday commands', () => {
  it('init writes a starter file check --offline accepts, and never overwrites it', async () => {
    const path = join(dir.path, 'new.yaml');
    expect((await cli(['-c', path, 'init', '--profile', 'intra2net'])).code).toBe(0);
    const check = await cli(['-c', path, 'check', '--offline']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/ok\s+config: .* 4 list\(s\)/);
    // The profile's note on the empty wildcard list is said once, as the configuration's warning.
    expect(check.stderr.match(/\*\.avcloud\.intra2net\.com is a wildcard/g)).toHaveLength(1);
    expect(check.stdout).not.toMatch(/is a wildcard/);
    const again = await cli(['-c', path, 'init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; use --force/);
  });

  it('a configuration with targets but no lists yet syncs nothing and exits 0', async () => {
    const path = join(dir.path, 'empty.yaml');
    writeFileSync(
      path,
      // The resolver is named so the test does not depend on /etc/resolv.conf; nothing is asked.
      `database: ${join(dir.path, 'empty.db')}\nresolvers: ["127.0.0.1:9"]\ntargets:\n  out: { type: file, dir: lists }\n`,
    );
    const r = await cli(['-c', path, 'sync']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('check tries each resolver and target', async () => {
    writeConfig();
    const r = await run('check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`ok\\s+resolver 127\\.0\\.0\\.1:${port}: www\\.example\\.com A: answer`),
    );
    expect(r.stdout).toMatch(/ok\s+target local: table inet e2e\d+ does not exist yet/);
  });

  it('a misspelt name: check warns about it, sync says so once per run and still exits 0', async () => {
    writeConfig('', '  web:\n    names: [www.example.com, wwww.example.com]\n');
    const check = await run('check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(
      'warn  name wwww.example.com (list web): NXDOMAIN for A, NXDOMAIN for AAAA: no address; a typo, or a retired host? (a sync keeps asking)',
    );
    expect(check.stdout).toContain('warn  names: 1 of 2 resolve to at least one address');
    expect(check.stdout).not.toMatch(/name www\.example\.com/);
    for (let i = 0; i < 2; i++) {
      const r = await sync();
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        'warn: wwww.example.com: no address (NXDOMAIN for A, NXDOMAIN for AAAA); a typo, or a retired host? Its earlier addresses leave through retention\n',
      );
    }
  });

  it('resolve prints answers with TTLs and records nothing', async () => {
    writeConfig();
    const r = await run('resolve', 'www.example.com');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`www.example.com  A     192.0.2.1  ttl 60  @127.0.0.1:${port}`);
    expect(existsSync(join(dir.path, 'dnsfence.db'))).toBe(false);
  });

  it('writes all of a long output into a pipe before it exits, however late its reader reads', async () => {
    // Far more than a pipe buffers (64 KiB on Linux), into a real pipe whose reader starts after
    // a second, as `| less` or a cron job's mail capture may: whatever the pipe did not take at
    // once must still go out before the process ends.
    const names = Array.from({ length: 2000 }, (_, i) => `bulk${i}.example.com`);
    for (const [i, name] of names.entries()) zone.set(name, { a: [`198.51.100.${(i % 250) + 1}`], ttl: 60 });
    const config = writeConfig();
    const { stdout } = await promisify(execFile)(
      'sh',
      ['-c', '"$@" | { sleep 1; cat; }', 'sh', process.execPath, BIN, '-c', config, 'resolve', ...names],
      { maxBuffer: 16 * 2 ** 20 },
    );
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(4000);
    expect(lines.at(-1)).toMatch(/^bulk1999\.example\.com {2}AAAA {2}NODATA/);
  });

  it('profile show prints the Intra2net lists and ports', async () => {
    const r = await cli(['profile', 'show', 'intra2net']);
    expect(r.stdout).toMatch(/i2n_ntp\s+UDP 123\s+retention 7d/);
    expect(r.stdout).toMatch(/i2n_support\s+TCP 5000-5050/);
    expect(r.stdout).toMatch(/inbound\s+UDP 500, UDP 4500/);
  });

  it('demo runs offline and ends with a verified report', async () => {
    const r = await cli(['demo'], { env: { TMPDIR: dir.path } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit chain\s+verified/);
    expect(r.stdout).toMatch(/- 192\.0\.2\.10 .*expired/);
  });
  it('a command whose reader has gone runs to its end and exits 0', async () => {
    // `dnsfence demo | head -1`, with a reader that has closed its end before the first line:
    // every write, to stdout and stderr alike, fails with EPIPE. The demo writes as it goes.
    const rc = join(dir.path, 'rc');
    await promisify(execFile)(
      'sh',
      ['-c', '{ "$@" 2>&1; echo $? > "$0"; } | { exec <&-; sleep 1; }', rc, process.execPath, BIN, 'demo'],
      {
        env: { ...process.env, TMPDIR: dir.path },
      },
    );
    expect(readFileSync(rc, 'utf8')).toBe('0\n');
    // It ran all four rounds: the last one lets 192.0.2.10 expire.
    const scratch = readdirSync(dir.path).find((f) => f.startsWith('dnsfence-demo-')) as string;
    const list = readFileSync(join(dir.path, scratch, 'lists', 'i2n_https.txt'), 'utf8');
    expect(list).toContain('192.0.2.11\n');
    expect(list).not.toContain('192.0.2.10\n');
    expect((await cli(['-c', join(dir.path, scratch, 'dnsfence.yaml'), 'audit', 'verify'])).code).toBe(0);
  });
});

describe('resolvers reached in other ways', () => {
  it('resolves over DNS over HTTPS, verifying the server certificate', async () => {
    const cert = selfSignedCert(dir.path);
    const doh = await startDoh(zone, cert);
    try {
      writeFileSync(
        join(dir.path, 'doh.yaml'),
        `resolvers: ["${doh.url}"]\nlists:\n  web:\n    names: [www.example.com]\n`,
      );
      const trusted = await cli(['-c', join(dir.path, 'doh.yaml'), 'resolve'], {
        env: { NODE_EXTRA_CA_CERTS: cert.certFile },
      });
      expect(trusted.code).toBe(0);
      expect(trusted.stdout).toContain(`www.example.com  A     192.0.2.1  ttl 60  @${doh.url}`);
      const untrusted = await cli(['-c', join(dir.path, 'doh.yaml'), 'resolve']);
      expect(untrusted.code).toBe(3);
      expect(untrusted.stdout).toMatch(
        /www\.example\.com {2}A {5}REFUSED \(certificate of https:.* not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT.*set resolver_tls\.ca/,
      );
    } finally {
      await doh.close();
    }
  });

  it('asks a resolver on an IPv6 address', async () => {
    const v6 = new ZoneServer();
    const p = await v6.start('::1');
    v6.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] });
    try {
      writeFileSync(
        join(dir.path, 'v6.yaml'),
        `resolvers: ["[::1]:${p}"]\nlists:\n  web:\n    names: [www.example.com]\n`,
      );
      const r = await cli(['-c', join(dir.path, 'v6.yaml'), 'resolve']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`www.example.com  AAAA  2001:db8::1  ttl 300  @[::1]:${p}`);
    } finally {
      await v6.stop();
    }
  });

  it('uses the nameservers of /etc/resolv.conf when none are configured', () => {
    const file = join(dir.path, 'resolv.conf');
    writeFileSync(
      file,
      '# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver 2001:db8::53\noptions edns0\n',
    );
    expect(systemResolvers(file).map((s) => s.label)).toEqual(['127.0.0.53', '[fe80::1]', '[2001:db8::53]']);
  });
});
