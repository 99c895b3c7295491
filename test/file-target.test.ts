import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAdapter } from '../adapters/file/adapter.js';
import { tempDir } from './helpers.js';
import { change } from './plans.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => (dir = tempDir()));
afterEach(() => dir.cleanup());

const adapter = (folder: string) =>
  new FileAdapter({
    type: 'file',
    name: 'out',
    timeoutMs: 10_000,
    lists: new Map([['web', 'web']]),
    settings: { dir: folder },
  });
const web = { list: 'web', remote: 'web' };
const add = (address: string) => change(address, { target: 'out' });

describe('file target: held additions', () => {
  it('add creates the folder and file, keeps what the file holds, and confirms what was there already', async () => {
    const folder = join(dir.path, 'lists');
    const a = adapter(folder);
    expect(await a.add([{ ref: web, add: [add('2001:db8::1'), add('192.0.2.1')] }])).toEqual({
      applied: [add('2001:db8::1'), add('192.0.2.1')],
      done: [],
    });
    expect(readFileSync(join(folder, 'web.txt'), 'utf8')).toBe('192.0.2.1\n2001:db8::1\n');
    writeFileSync(join(folder, 'web.txt'), '192.0.2.1\n198.51.100.0/24\n2001:db8::1\n');
    const r = await a.add([{ ref: web, add: [add('203.0.113.5'), add('192.0.2.1')] }]);
    expect(r.error).toBeUndefined();
    expect(r.applied).toEqual([add('203.0.113.5'), add('192.0.2.1')]);
    expect(readFileSync(join(folder, 'web.txt'), 'utf8')).toBe(
      '192.0.2.1\n198.51.100.0/24\n203.0.113.5\n2001:db8::1\n',
    );
  });

  it('add reports a file it cannot reach and confirms nothing', async () => {
    writeFileSync(join(dir.path, 'plain'), '');
    const r = await adapter(join(dir.path, 'plain', 'lists')).add([{ ref: web, add: [add('192.0.2.1')] }]);
    expect(r.applied).toEqual([]);
    expect(r.error).toMatch(/plain\/lists\/web.txt: .*ENOTDIR/);
  });
});
