import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { netns } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('../scripts/test-prerequisites.sh', import.meta.url));

/** The script's table: tool, Debian package. */
function table(): [string, string][] {
  const body = /^TOOLS='\n([\s\S]*?)^'/m.exec(readFileSync(SCRIPT, 'utf8'))?.[1] ?? '';
  return body
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).slice(0, 2) as [string, string]);
}

/** Where a command is on this process's PATH. */
const which = (cmd: string) =>
  spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** Runs the script with that PATH as a user other than root (nobody, when the tests run as root). */
function runAsUser(path: string) {
  const asUser =
    process.geteuid?.() === 0 ? [which('setpriv'), '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const [cmd, ...args] = [...asUser, '/bin/sh', SCRIPT];
  return spawnSync(cmd as string, args, { env: { PATH: path }, encoding: 'utf8' });
}

afterEach(() => vi.restoreAllMocks());

describe('test prerequisites', () => {
  it('names each missing tool and its Debian package on one line, and stops npm test', () => {
    // A PATH with nothing on it but id; the script itself adds /usr/sbin and /sbin, where nft and ip live.
    const bin = mkdtempSync(join(tmpdir(), 'dnsfence-path-'));
    try {
      chmodSync(bin, 0o755);
      symlinkSync(which('id'), join(bin, 'id'));
      const r = runAsUser(bin);
      const missing = table().filter(
        ([tool]) => !['/usr/sbin', '/sbin'].some((d) => existsSync(join(d, tool))),
      );
      expect(missing.map(([tool]) => tool)).toContain('sqlite3');
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual(
        missing.map(([tool, pkg]) =>
          expect.stringMatching(
            new RegExp(
              `^npm test needs ${tool} \\(.+\\): install the package ${pkg} \\(Debian: apt-get install ${pkg}\\)$`,
            ),
          ),
        ),
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('says nothing when every tool is there', () => {
    const r = runAsUser(process.env.PATH ?? '');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('a namespace without root: one line saying root is needed', () => {
    vi.spyOn(process, 'geteuid').mockReturnValue(65534);
    let error: Error | undefined;
    try {
      netns().cleanup(); // only reached if it did not refuse
    } catch (e) {
      error = e as Error;
    }
    expect(error?.stack).toBe('needs root: run as root (ip netns)');
  });
});
