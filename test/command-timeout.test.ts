import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import { cli, netns, setElements, startZone, tempDir, waitFor } from './helpers.js';
import { groupMembers } from './process-group.js';

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

/** An nft that hangs: a shell script whose child sleeps, holding the script's output open. */
function hangingNft(body: string): string {
  const path = join(dir.path, 'nft');
  writeFileSync(path, `#!/bin/sh\necho $$ > ${dir.path}/nft.pid\n${body}\nexec ${ns.nft.join(' ')} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

function writeConfig(nft: string[]): string {
  const path = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    path,
    `database: dnsfence.db
resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 2s, attempts: 1, families: [ipv4] }
lists:
  web:
    names: [www.example.com]
targets:
  fw:
    type: nftables
    table: hung
    timeout: 1s
    nft: [${nft.join(', ')}]
`,
  );
  return path;
}

const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
const nftGroup = () => Number(readFileSync(join(dir.path, 'nft.pid'), 'utf8'));

describe('a target command that does not finish in time (real CLI)', () => {
  it('a hung nft wrapper: the sync fails at the timeout with one line, kills its process group, frees the lock; the next sync works', async () => {
    const nft = hangingNft('sleep 100');
    writeConfig([nft]);
    const started = Date.now();
    const r = await run('sync');
    const took = Date.now() - started;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: target fw: ${nft} -j list table inet hung did not finish within 1000 ms (stopped with its process group)`,
    ]);
    // The sleep lasts 100 s: the sync ended at the timeout (1 s), not when the sleep did.
    expect(took).toBeLessThan(15_000);
    expect(groupMembers(nftGroup())).toEqual([]);
    expect(existsSync(join(dir.path, 'dnsfence.db.lock'))).toBe(false);

    writeConfig(ns.nft);
    const next = await run('sync');
    expect(next.code, next.stderr).toBe(0);
    expect(setElements(ns, 'inet', 'hung', 'web_v4')).toEqual(['192.0.2.1']);
  });

  it('a wrapper that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    // An ignored signal stays ignored across exec: the sleep ignores SIGTERM too.
    const nft = hangingNft("trap '' TERM\nsleep 100");
    writeConfig([nft]);
    const started = Date.now();
    const r = await run('sync');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not finish within 1000 ms (stopped with its process group)');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(groupMembers(nftGroup())).toEqual([]);
    expect(existsSync(join(dir.path, 'dnsfence.db.lock'))).toBe(false);
  });

  it('dnsfence stopped with SIGTERM while nft runs leaves no process of the command behind', async () => {
    const nft = hangingNft('sleep 100');
    writeConfig([nft]);
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace('timeout: 1s', 'timeout: 60s'),
    );
    const victim = run('sync');
    await waitFor(() => groupMembers(nftGroup()).length === 2, 10_000, 'the nft wrapper and its sleep');
    process.kill(victim.pid, 'SIGTERM');
    expect((await victim).code).toBe(143);
    await waitFor(() => groupMembers(nftGroup()).length === 0, 5000, 'the nft process group to end');
    expect(existsSync(join(dir.path, 'dnsfence.db.lock'))).toBe(false);
  });
});
