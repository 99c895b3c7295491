import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import type { ReportModel } from '../src/report/model.js';
import { BIN, cli, startZone, tempDir } from './helpers.js';

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
  zone.set('empty.test.example', { ttl: 60 });
  zone.set('broken.test.example', { behaviour: 'servfail' });
  zone.set('down.test.example', { behaviour: 'servfail' });
});

afterEach(() => dir.cleanup());

const config = () => join(dir.path, 'dnsfence.yaml');

function writeConfig(lists: string, targets = '  a:\n    type: file\n    dir: lists-a\n', extra = ''): void {
  writeFileSync(
    config(),
    `resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 2s, attempts: 1 }
${extra}
lists:
${lists}
targets:
${targets}`,
  );
}

const run = (...args: string[]) => cli(['-c', config(), ...args]);
const json = async (...args: string[]) =>
  JSON.parse((await run('--json', 'report', ...args)).stdout) as ReportModel;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('report: names that resolve to no address', () => {
  it('lists a misspelt name under "names without address" in every format; NXDOMAIN is no failure', async () => {
    writeConfig(
      '  web:\n    names: [fixed.test.example, fixd.test.example]\n  other:\n    names: [empty.test.example]\n',
    );
    expect((await run('sync')).code).toBe(0);
    expect((await run('sync')).code).toBe(0);
    const text = await run('report');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^names without address +empty\.test\.example, fixd\.test\.example$/m);
    expect(text.stdout).toMatch(/^names failed +-$/m);
    expect(text.stdout).toMatch(/^runs +2, 0 failed, 0 degraded$/m);
    // NODATA for AAAA, but an address for A: fixed.test.example resolves.
    expect(text.stdout).not.toMatch(/without address.*fixed\.test\.example/);
    const md = (await run('report', '--format', 'md')).stdout;
    expect(md).toContain('| names without address | empty.test.example, fixd.test.example |');
    const html = (await run('report', '--format', 'html')).stdout;
    expect(html).toMatch(
      /<td>Names without address<\/td><td[^>]*>empty\.test\.example, fixd\.test\.example<\/td>/,
    );
    const doc = await json();
    expect(doc.summary.namesWithoutAddress).toEqual(['empty.test.example', 'fixd.test.example']);
    expect(doc.summary.namesFailed).toEqual([]);
    // Narrowed to a list: the names of that list only.
    expect((await json('--list', 'web')).summary.namesWithoutAddress).toEqual(['fixd.test.example']);
    expect((await json('--name', 'empty.test.example')).summary.namesWithoutAddress).toEqual([
      'empty.test.example',
    ]);
  });

  it('a name that answered with an address in the period is not without address, even if it vanished', async () => {
    writeConfig('  web:\n    names: [api.test.example]\n');
    await run('sync');
    zone.zone.delete('api.test.example');
    await run('sync');
    expect((await json()).summary.namesWithoutAddress).toEqual([]);
    const later = new Date(Date.now() + 5).toISOString();
    await sleep(20);
    await run('sync');
    expect((await json('--since', later)).summary.namesWithoutAddress).toEqual(['api.test.example']);
  });
});

describe('report: filters', () => {
  const twoTargets = '  a:\n    type: file\n    dir: lists-a\n  b:\n    type: file\n    dir: lists-b\n';

  it('an unknown --target or --list and a reversed period are usage errors, in one line', async () => {
    writeConfig('  web:\n    names: [www.test.example]\n', twoTargets);
    await run('sync');
    const target = await run('report', '--target', 'nosuch');
    expect(target.code).toBe(2);
    expect(target.stderr.trim().split('\n')).toEqual([
      'dnsfence: --target nosuch: no such target in the configuration or the audit log (known: a, b)',
    ]);
    expect(target.stdout).toBe('');
    const list = await run('report', '--list', 'web', '--list', 'nosuch');
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(
      /^dnsfence: --list nosuch: no such list in the configuration or the audit log \(known: web\)\n$/,
    );
    const reversed = await run('report', '--since', '1d', '--until', '2d');
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(
      /^dnsfence: --since 1d \(\S+\) is after --until 2d \(\S+\): the period is reversed\n$/,
    );
  });

  it('a target removed from the configuration is still reportable from the audit log', async () => {
    writeConfig('  web:\n    names: [www.test.example]\n', twoTargets);
    await run('sync');
    writeConfig('  web:\n    names: [www.test.example]\n');
    const gone = await json('--target', 'b');
    expect(gone.rows.map((r) => `${r.target} ${r.address}`)).toEqual(['b 192.0.2.20', 'b 2001:db8::20']);
    expect(gone.lists.map((l) => `${l.target}/${l.list} ${l.addresses.length}`)).toEqual(['b/web 2']);
  });

  it('repeated --target, --list and --name accumulate, also as comma lists', async () => {
    writeConfig(
      '  web:\n    names: [www.test.example]\n  api:\n    names: [api.test.example]\n',
      `${twoTargets}  c:\n    type: file\n    dir: lists-c\n`,
    );
    await run('sync');
    const targets = (m: ReportModel) => [...new Set(m.rows.map((r) => r.target))].sort();
    expect(targets(await json('--target', 'a', '--target', 'b'))).toEqual(['a', 'b']);
    expect(targets(await json('--target', 'a,c'))).toEqual(['a', 'c']);
    const lists = await json('--list', 'web', '--list', 'api', '--target', 'a');
    expect(lists.rows.map((r) => r.list).sort()).toEqual(['api', 'web', 'web']);
    const names = await json('--name', 'www.test.example', '--name', 'api.test.example');
    expect(names.rows).toHaveLength(9);
  });

  it('every part of the report follows the filters: runs, names failed, targets failed, lists', async () => {
    const blocked = join(dir.path, 'blocked');
    writeFileSync(blocked, 'a file where the list folder should be');
    writeConfig(
      '  web:\n    names: [www.test.example, broken.test.example]\n  api:\n    names: [api.test.example, down.test.example]\n',
      `  a:\n    type: file\n    dir: lists-a\n  bad:\n    type: file\n    dir: ${blocked}\n    lists: [api]\n`,
    );
    expect((await run('sync')).code).toBe(1);
    expect((await run('sync')).code).toBe(1);
    const all = await json();
    expect(all.summary).toMatchObject({
      runs: 2,
      failedRuns: 2,
      degradedRuns: 0,
      namesFailed: ['broken.test.example', 'down.test.example'],
      targetsFailed: ['bad'],
    });
    const web = await json('--list', 'web');
    expect(web.summary.namesFailed).toEqual(['broken.test.example']);
    // Only target a carries web: bad's failures are not web's.
    expect(web.summary.targetsFailed).toEqual([]);
    expect(web.summary).toMatchObject({ runs: 2, failedRuns: 0, degradedRuns: 2 });
    const a = await json('--target', 'a');
    expect(a.summary.targetsFailed).toEqual([]);
    expect(a.summary.namesFailed).toEqual(['broken.test.example', 'down.test.example']);
    expect(a.lists.map((l) => l.list)).toEqual(['api', 'web']);
    expect(a.summary).toMatchObject({ runs: 2, failedRuns: 0, degradedRuns: 2 });
    const bad = await json('--target', 'bad');
    expect(bad.summary).toMatchObject({
      targetsFailed: ['bad'],
      namesFailed: ['down.test.example'],
      failedRuns: 2,
    });
    expect(bad.lists).toEqual([{ target: 'bad', list: 'api', addresses: [] }]);
    const text = (await run('report', '--list', 'web')).stdout;
    expect(text).toMatch(/^filters +list web$/m);
    expect(text).toMatch(/^runs +2, 0 failed, 2 degraded$/m);
  });
});

describe('report --output', () => {
  it('a path that cannot be written is a usage error naming the path and the cause, before any work', async () => {
    writeConfig('  web:\n    names: [www.test.example]\n');
    await run('sync');
    const missing = await run('report', '--output', '/nonexistent/x.html', '--format', 'html');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'dnsfence: --output /nonexistent/x.html: no such directory /nonexistent (ENOENT)\n',
    );
    const folder = await run('report', '--output', dir.path);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe(`dnsfence: --output ${dir.path}: is a directory (EISDIR)\n`);
    // Checked first: a wrong --target would only be found while building the report.
    const both = await run('report', '--output', '/nonexistent/x.html', '--target', 'nosuch');
    expect(both.stderr).toMatch(/no such directory/);
    const file = join(dir.path, 'r.md');
    expect((await run('report', '--format', 'md', '--output', file)).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^# dnsfence change report/);
  });

  it('a read-only folder is named in words', async () => {
    writeConfig('  web:\n    names: [www.test.example]\n');
    await run('sync');
    const ro = join(dir.path, 'ro');
    mkdirSync(ro);
    // As root, permissions are not enforced: a read-only bind mount is, in a mount namespace of its own.
    const r = spawnSync(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount --bind -o ro "$1" "$1" && shift && exec "$@"',
        'sh',
        ro,
        process.execPath,
        BIN,
        '-c',
        config(),
        'report',
        '--output',
        join(ro, 'x.txt'),
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe(
      `dnsfence: --output ${join(ro, 'x.txt')}: cannot write there: read-only file system (EROFS)\n`,
    );
    expect(r.status).toBe(2);
  });
});

describe('report: summary and content', () => {
  it('counts degraded runs and states the configuration hash, and when it changed', async () => {
    writeConfig('  web:\n    names: [www.test.example, broken.test.example]\n');
    expect((await run('sync')).code).toBe(3);
    const first = (await json()).summary.config;
    expect(first).toHaveLength(1);
    expect(first[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await run('report')).stdout).toMatch(
      new RegExp(`^config hash +${first[0]!.hash.slice(0, 16)}…$`, 'm'),
    );
    writeConfig('  web:\n    names: [www.test.example]\n');
    expect((await run('sync')).code).toBe(0);
    const doc = await json();
    expect(doc.summary).toMatchObject({ runs: 2, failedRuns: 0, degradedRuns: 1 });
    expect(doc.summary.config.map((c) => c.hash)[0]).toBe(first[0]!.hash);
    expect(doc.summary.config).toHaveLength(2);
    const changedAt = doc.summary.config[1]!.from.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const text = (await run('report')).stdout;
    expect(text).toMatch(/^runs +2, 0 failed, 1 degraded$/m);
    expect(text).toContain(`changed in the period: ${first[0]!.hash.slice(0, 16)}… (until `);
    expect(text).toContain(`(from ${changedAt})`);
    const md = (await run('report', '--format', 'md')).stdout;
    expect(md).toContain('| runs | 2, 0 failed, 1 degraded |');
    expect(md).toContain(`(from ${changedAt})`);
    const html = (await run('report', '--format', 'html')).stdout;
    expect(html).toMatch(/<td>Runs<\/td><td[^>]*>2, 0 failed, 1 degraded<\/td>/);
    expect(html).toContain(first[0]!.hash);
  });

  it('names no static entry "static" in JSON, shows removal details in text and md, and each list now', async () => {
    writeConfig(
      '  web:\n    names: [www.test.example]\n    static: [198.51.100.7]\n    families: [ipv4]\n',
      '  a:\n    type: file\n    dir: lists-a\n',
      'retention: 1s',
    );
    await run('sync');
    zone.set('www.test.example', { a: ['192.0.2.21'], ttl: 60 });
    await sleep(1100);
    await run('sync');
    const doc = await json();
    const staticRow = doc.rows.find((r) => r.address === '198.51.100.7');
    expect(staticRow).toMatchObject({ names: [], static: true, reason: 'static' });
    expect(doc.rows.find((r) => r.address === '192.0.2.20' && r.action === 'added')).toMatchObject({
      names: ['www.test.example'],
      static: false,
    });
    expect(doc.lists).toEqual([
      {
        target: 'a',
        list: 'web',
        addresses: [
          { address: '192.0.2.21', names: ['www.test.example'], static: false, since: expect.any(String) },
          { address: '198.51.100.7', names: [], static: true, since: expect.any(String) },
        ],
      },
    ]);
    const removed = doc.rows.find((r) => r.action === 'removed')!;
    expect(removed).toMatchObject({ address: '192.0.2.20', reason: 'expired' });
    expect(removed.detail).toMatch(/^last seen \S+, retention 1s$/);
    const text = (await run('report')).stdout;
    expect(text).toContain(removed.detail);
    expect(text).toMatch(/\+ added +198\.51\.100\.7 +static +static/);
    expect(text).toMatch(
      /^a\/web: 2 addresses\n {2}192\.0\.2\.21 +www\.test\.example +since .*\n {2}198\.51\.100\.7 +static +since /m,
    );
    const md = (await run('report', '--format', 'md')).stdout;
    expect(md).toContain(`| expired: ${removed.detail} |`);
    expect(md).toMatch(/^\| a \| web \| 198\.51\.100\.7 \| static \| \S+ \|$/m);
  });
});
