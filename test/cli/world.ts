// Shared by the end-to-end suites of test/cli: the built CLI run as a user would, against real things.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { TestZoneServer } from '../fakes/dns.js';
import { cli, netns, setElements, startZone, tempDir, waitFor } from '../helpers.js';

export let zone: TestZoneServer;
export let port: number;
export let ns: ReturnType<typeof netns>;
export let dir: ReturnType<typeof tempDir>;
export let table: string;
let counter = 0;

/**
 * The world the end-to-end suites run in: a DNS server, a private network namespace with real
 * nft, a fresh folder per test with an nft wrapper that logs every call. Call it at the top of a
 * test file; the bindings above then hold the current test's.
 */
export function useCliWorld(): void {
  beforeAll(async () => {
    ({
      zone,
      spec: { port },
    } = await startZone());
    ns = netns();
  });

  afterAll(async () => {
    await zone.stop();
    ns?.cleanup(); // undefined when netns() refused (not root)
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
}

export function writeConfig(
  extra = '',
  lists = '  web:\n    names: [www.example.com, api.example.com]\n',
): string {
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

export const sync = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync', ...args]);
export const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
export const v4 = () => setElements(ns, 'inet', table, 'web_v4');
export const nftWrites = () =>
  existsSync(join(dir.path, 'nft.log'))
    ? readFileSync(join(dir.path, 'nft.log'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('-f')).length
    : 0;
// Writes nft has finished: a caller killed after this point has changed the firewall for certain.
export const nftApplied = () =>
  existsSync(join(dir.path, 'nft.log'))
    ? readFileSync(join(dir.path, 'nft.log'), 'utf8')
        .split('\n')
        .filter((l) => l === 'applied').length
    : 0;
export const listFile = () => readFileSync(join(dir.path, 'lists', 'web.txt'), 'utf8');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a sync and hands it over once it holds the lock, still waiting for slow.example.com's
 * answer (wrapped: awaiting the run itself would wait for it to end).
 */
export async function syncWaitingOnSlowName(
  delayMs: number,
  lists = '  web:\n    names: [www.example.com, slow.example.com]\n',
): Promise<{ running: ReturnType<typeof sync> }> {
  writeConfig('', lists);
  zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60, delayMs });
  const running = sync();
  await waitFor(() => existsSync(join(dir.path, 'dnsfence.db.lock')), 5000, 'the lock file');
  return { running };
}
