import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../src/store/lock.js';
import { UserError } from '../src/errors.js';
import { tempDir } from './helpers.js';

// A filesystem without hard links (vfat, some network filesystems): link(2) fails with EPERM.
// This kernel mounts none of them, so link(2) is made to fail as theirs does.
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const linkSync = () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  return { ...fs, default: { ...fs, linkSync }, linkSync };
});

let dir: ReturnType<typeof tempDir>;
let path: string;

beforeEach(() => {
  dir = tempDir();
  path = join(dir.path, 'dnsfence.db');
});

afterEach(() => dir.cleanup());

describe('run lock on a filesystem without hard links', () => {
  it('is created in place, still refuses a second holder, and leaves nothing behind', () => {
    const lock = acquireLock(path, 'sync');
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(() => acquireLock(path, 'sync')).toThrow(UserError);
    lock.release();
    expect(readdirSync(dir.path)).toEqual([]);
    acquireLock(path, 'sync').release();
  });
});
