import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import { BIN, cli, netns, startZone, tempDir } from './helpers.js';

let zone: TestZoneServer;
let port: number;
let ns: ReturnType<typeof netns>;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  ({
    zone,
    spec: { port },
  } = await startZone());
  zone.set('www.example.com', { a: ['192.0.2.1'], ttl: 60 });
  ns = netns();
});
afterAll(async () => {
  await zone.stop();
  ns.cleanup();
});
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

function writeConfig(target: string): void {
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `database: dnsfence.db
resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 2s, attempts: 1, families: [ipv4] }
lists:
  web:
    names: [www.example.com]
targets:
  fw:
${target}
`,
  );
}

const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
const line = (out: string, what: string) => out.split('\n').find((l) => l.includes(what));

/**
 * Runs dnsfence commands in a private mount namespace (unshare -m) after a setup script, so
 * test mounts never reach the host. Returns each command's exit code, stdout and stderr.
 */
async function inMountNamespace(
  setup: string,
  commands: string[],
): Promise<{ code: number; out: string; err: string }[]> {
  const d = dir.path;
  const steps = commands.map(
    (c, i) =>
      `${process.execPath} ${BIN} -c ${d}/dnsfence.yaml ${c} >${d}/out${i} 2>${d}/err${i}; echo $? >${d}/rc${i}`,
  );
  const child = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', [setup, ...steps].join('; ')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`unshare script failed: ${stderr}`);
  return commands.map((_, i) => ({
    code: Number(readFileSync(join(d, `rc${i}`), 'utf8')),
    out: readFileSync(join(d, `out${i}`), 'utf8'),
    err: readFileSync(join(d, `err${i}`), 'utf8'),
  }));
}

describe('check finds what sync would fail on (real CLI)', () => {
  it('an nft set made by hand without flags interval: check fails the target and says what to do, as sync does', async () => {
    ns.exec(['-f', '-'], 'add table inet byhand\nadd set inet byhand web_v4 { type ipv4_addr; }\n');
    writeConfig(`    type: nftables\n    table: byhand\n    nft: [${ns.nft.join(', ')}]`);
    const advice =
      'set inet byhand web_v4 has no flags interval; dnsfence needs { type ipv4_addr; flags interval; }: ' +
      'delete it (nft delete set inet byhand web_v4) and the next sync creates it anew';
    const check = await run('check');
    expect(check.code).toBe(1);
    expect(line(check.stdout, 'target fw')).toBe(`FAIL  target fw: ${advice}`);
    const sync = await run('sync');
    expect(sync.code).toBe(1);
    expect(sync.stderr.trim()).toBe(`error: target fw: ${advice}`);
    // Done as told, both pass.
    ns.exec(['delete', 'set', 'inet', 'byhand', 'web_v4']);
    expect((await run('check')).code).toBe(0);
    expect((await run('sync')).code).toBe(0);
  });

  it('nft written as one string with spaces: check and sync say to write it as a list', async () => {
    writeConfig(`    type: nftables\n    table: onestring\n    nft: "${ns.nft.join(' ')}"`);
    const advice = `no program named "${ns.nft.join(' ')}" (write the command as a list: [${ns.nft.join(', ')}])`;
    const check = await run('check');
    expect(check.code).toBe(1);
    expect(line(check.stdout, 'target fw')).toBe(`FAIL  target fw: ${advice}`);
    const sync = await run('sync');
    expect(sync.code).toBe(1);
    // Said when the configuration is read, and again where it fails.
    expect(sync.stderr.trim().split('\n')).toEqual([
      `warn: targets.fw.nft: "${ns.nft.join(' ')}" is one program name; to pass arguments write a list: [${ns.nft.join(', ')}]`,
      `error: target fw: ${advice}`,
    ]);
  });

  it('a file target whose folder is on a read-only file system: check and sync name EROFS', async () => {
    writeConfig('    type: file\n    dir: ro/lists');
    mkdirSync(join(dir.path, 'ro'));
    const [check, sync] = await inMountNamespace(
      `mount -t tmpfs -o size=1m tmpfs ${dir.path}/ro && mkdir ${dir.path}/ro/lists && mount -o remount,ro ${dir.path}/ro`,
      ['check', 'sync'],
    );
    expect(check?.code).toBe(1);
    expect(line(check?.out ?? '', 'target fw')).toBe(
      `FAIL  target fw: ${dir.path}/ro/lists: read-only file system (EROFS)`,
    );
    expect(sync?.code).toBe(1);
    expect(sync?.err.trim()).toBe(
      `error: target fw: cannot write ${dir.path}/ro/lists/web.txt: read-only file system (EROFS)`,
    );
  });

  it('a file target whose folder is missing under a read-only file system: check and sync name EROFS, not ENOENT', async () => {
    writeConfig('    type: file\n    dir: ro/lists');
    mkdirSync(join(dir.path, 'ro'));
    const [check, sync] = await inMountNamespace(`mount -t tmpfs -o size=1m,ro tmpfs ${dir.path}/ro`, [
      'check',
      'sync',
    ]);
    expect(check?.code).toBe(1);
    expect(line(check?.out ?? '', 'target fw')).toBe(
      `FAIL  target fw: ${dir.path}/ro/lists does not exist and cannot be created in ${dir.path}/ro: read-only file system (EROFS)`,
    );
    expect(sync?.code).toBe(1);
    expect(sync?.err.trim()).toBe(
      `error: target fw: cannot create ${dir.path}/ro/lists: read-only file system (EROFS)`,
    );
  });

  it('a file target whose folder does not exist yet under a writable one passes check; sync creates it', async () => {
    writeConfig('    type: file\n    dir: new/lists');
    const check = await run('check');
    expect(check.code, check.stdout).toBe(0);
    expect(line(check.stdout, 'target fw')).toBe(
      `ok    target fw: writes list files to ${dir.path}/new/lists (created by the first sync)`,
    );
    expect((await run('sync')).code).toBe(0);
    expect(readFileSync(join(dir.path, 'new/lists/web.txt'), 'utf8')).toBe('192.0.2.1\n');
  });

  it('a feed target: check reads what the database publishes, before and after the first sync', async () => {
    writeConfig('    type: feed');
    const before = await run('check');
    expect(before.code, before.stdout).toBe(0);
    expect(line(before.stdout, 'target fw')).toMatch(
      /publishes 1 list\(s\) at \/feeds\/fw\/<list>\.txt .* 0 published so far/,
    );
    expect((await run('sync')).code).toBe(0);
    expect(line((await run('check')).stdout, 'target fw')).toMatch(/all published$/);
  });

  it('a database file that is not a database is a failed check of its own, naming the file', async () => {
    writeConfig('    type: file\n    dir: lists');
    writeFileSync(
      join(dir.path, 'dnsfence.db'),
      'not a database, just text that is long enough to be read'.repeat(100),
    );
    const check = await run('check');
    expect(check.code).toBe(1);
    expect(line(check.stdout, 'database')).toMatch(
      new RegExp(`^FAIL  database: ${dir.path}/dnsfence\\.db: not a dnsfence database or corrupted`),
    );
    expect(line(check.stdout, 'target fw')).toMatch(/^ok /);
  });
});
