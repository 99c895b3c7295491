import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { setElements } from '../helpers.js';

import { dir, nftWrites, ns, run, sleep, sync, table, useCliWorld, writeConfig, zone } from './world.js';

useCliWorld();

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
    // The next sync sees it gone and stops listing it; the one after is quiet.
    const next = await sync();
    expect(next).toMatchObject({ code: 0, stdout: '' });
    expect(next.stderr).toMatch(
      new RegExp(
        `^target local: list web: sets web_v4 and web_v6 in table inet ${table} .* is gone; no longer listed as left behind\n$`,
      ),
    );
    expect((await run('status')).stdout).not.toContain('left behind');
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
