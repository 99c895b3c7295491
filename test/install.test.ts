import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The way the README installs dnsfence on a machine: `npm pack` in the clone, then
// `npm install -g` of the tarball. The installed command is then run from a folder that has
// nothing to do with the clone.

const ROOT = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

let work: string;
let tarball: string;
let prefix: string;
let installLog: string;
let outside: string;

/** The environment of a user's shell: no npm_* variables of the `npm test` around us, nothing of the clone on PATH. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('npm_')) env[key] = value;
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !dir.startsWith(ROOT))
    .join(delimiter);
  return { ...env, ...extra };
}

/** Runs npm; its output, warnings included. */
function npm(args: string[], cwd: string, env = userEnv()): string {
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

/**
 * better-sqlite3's install script (prebuild-install, else node-gyp) runs as it does for a user,
 * but finds its prebuilt binary in a local folder, made from the clone's own build of the same
 * version, instead of downloading it: compiling SQLite would add minutes on two cores and tells
 * nothing about dnsfence. Should the install resolve another version, the names differ and it
 * compiles.
 */
function localPrebuilds(): Record<string, string> {
  const pkgDir = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
  const addon = 'build/Release/better_sqlite3.node';
  if (!existsSync(join(pkgDir, addon))) return {};
  const { version: v } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const name = `better-sqlite3-v${v}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', pkgDir, addon]);
  // prebuild-install's setting for one package (npm passes it on, with a warning that it is not one of npm's).
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

const run = promisify(execFile);
const dnsfence = (args: string[]) =>
  run('dnsfence', args, {
    cwd: outside,
    env: userEnv({ PATH: `${join(prefix, 'bin')}${delimiter}${userEnv().PATH}`, TMPDIR: work }),
    encoding: 'utf8',
  });

beforeAll(() => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'dnsfence-install-')));
  // A copy of the clone is packed, as a fresh clone would be: `npm pack` builds it (prepack), and
  // the build the other test files run against is not rewritten under them meanwhile.
  const tree = join(work, 'clone');
  const skip = new Set(['.git', 'node_modules', 'dist', 'coverage']);
  cpSync(ROOT, tree, { recursive: true, filter: (src) => !skip.has(relative(ROOT, src)) });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(tree, 'node_modules'));
  npm(['pack', '--pack-destination', work], tree);
  tarball = join(work, `dnsfence-${version}.tgz`);

  prefix = join(work, 'prefix');
  // npm 11's --strict-allow-scripts check looks at <prefix>/lib before creating it.
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  // --strict-allow-scripts fails the install if any package's install script is not allowed:
  // better-sqlite3's is the only one there may be (dnsfence's own build must not be one).
  installLog = npm(
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--strict-allow-scripts',
      '--allow-scripts=better-sqlite3',
      tarball,
    ],
    work,
    userEnv(localPrebuilds()),
  );
  outside = join(work, 'elsewhere');
  mkdirSync(outside);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('installing from npm pack', () => {
  it('packs what runs and nothing else: the bin, the bundle and its code cache, migrations', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''))
      .sort();
    const migrations = readdirSync(join(ROOT, 'migrations')).map((m) => `migrations/${m}`);
    expect(files).toEqual(
      [
        'LICENSE',
        'README.md',
        'package.json',
        'bin/dnsfence.cjs',
        'bin/dnsfence.js',
        'dist/dnsfence.cjs',
        'dist/dnsfence.cjs.v8cache',
        ...migrations,
      ].sort(),
    );
  });

  it('installs with only better-sqlite3 allowed to run an install script, and npm warns of none', () => {
    expect(installLog).not.toMatch(/allowScripts/);
    expect(realpathSync(join(prefix, 'bin', 'dnsfence'))).toBe(
      join(prefix, 'lib', 'node_modules', 'dnsfence', 'bin', 'dnsfence.cjs'),
    );
  });

  it('dnsfence --version, outside the clone', async () => {
    const { stdout } = await dnsfence(['--version']);
    expect(stdout.trim()).toBe(version);
  });

  it('dnsfence demo runs offline and ends with a verified audit chain', async () => {
    const { stdout } = await dnsfence(['demo']);
    expect(stdout).toMatch(/^audit chain +verified \(\d+ entries/m);
  });

  it('dnsfence systemd names the installed command, not the clone', async () => {
    await dnsfence(['init', '--profile', 'intra2net']);
    const { stdout } = await dnsfence(['systemd']);
    const installed = join(prefix, 'lib', 'node_modules', 'dnsfence', 'bin', 'dnsfence.cjs');
    const exec = stdout.match(/^ExecStart=(\S+) (\S+) -c (\S+) --quiet sync$/m);
    expect(exec?.slice(2)).toEqual([installed, join(outside, 'dnsfence.yaml')]);
    expect(exec?.[1]).toMatch(/\/node$/);
    expect(stdout).not.toContain(ROOT);
  });
});
