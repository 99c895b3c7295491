import fc from 'fast-check';
import { dump } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../../adapters/registry.js';
import { parseConfig } from '../../src/config/load.js';
import { expandName } from '../../src/config/names.js';
import { ConfigError } from '../../src/errors.js';
import { buildProgram } from '../../src/cli/main.js';
import { CommanderError } from 'commander';
import { propertyCase, repeat } from './campaign.js';

const FILE = '/etc/dnsfence/dnsfence.yaml';
const VALID = {
  resolvers: ['192.0.2.53'],
  retention: '24h',
  safety: { max_remove: 0.5 },
  profiles: ['intra2net'],
  lists: {
    web: { names: ['www.example.com', '{0..3}.pool.example.org'], static: ['198.51.100.7'], retention: '7d' },
  },
  targets: { local: { type: 'nftables', table: 'dnsfence' }, out: { type: 'file', dir: 'lists' } },
};

const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '*.example.com',
    'a;b.example.com',
    'a{b}.example.com',
    'a"b.example.com',
    "a'b.example.com",
    'a\nb.example.com',
    'a b.example.com',
    `${'x'.repeat(64)}.example.com`,
    'ünï.example.com',
    '{0..99999}.x.org',
    '',
    '.',
    '..',
    '-a.example.com',
    '192.0.2.1',
  ),
);
const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  hostile,
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const paths = [
  ['resolvers', 0],
  ['retention'],
  ['stale_limit'],
  ['safety', 'max_remove'],
  ['safety', 'allow_private'],
  ['profiles', 0],
  ['lists', 'web', 'names', 0],
  ['lists', 'web', 'static', 0],
  ['lists', 'web', 'retention'],
  ['lists', 'web', 'families'],
  ['lists', 'web', 'allow'],
  ['targets', 'local', 'type'],
  ['targets', 'local', 'family'],
  ['targets', 'local', 'nft'],
  ['targets', 'out', 'dir'],
  ['targets', 'local', 'lists'],
  ['resolve', 'timeout'],
  ['bogus'],
] as (string | number)[][];

function mutate(doc: unknown, path: (string | number)[], v: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null)
      node[k] = typeof path[path.indexOf(k) + 1] === 'number' ? [] : {};
    node = node[k] as Record<string | number, unknown>;
  }
  node[path.at(-1) as string | number] = v;
  return copy;
}

describe('fault campaign: configuration and input', () => {
  it('random configuration changes end in a valid config or one exit-2 line naming the key, never anything else', async () => {
    const runs = repeat(2000, 200);
    await propertyCase(
      {
        group: 'input',
        name: 'property-based fuzz of the configuration file (fast-check, seed 20261128)',
        runs,
        outcome: 'valid or exit 2 with a key path',
      },
      () =>
        fc.check(
          fc.property(fc.constantFrom(...paths), value, (path, v) => {
            const text = dump(mutate(VALID, path, v));
            try {
              parseConfig(text, FILE, TARGET_TYPES);
            } catch (err) {
              expect(err).toBeInstanceOf(ConfigError);
              expect((err as ConfigError).exitCode).toBe(2);
              expect((err as Error).message).toMatch(new RegExp(`^${FILE}(:\\d+:\\d+)?: \\S`));
              expect((err as Error).message).not.toContain('\n');
            }
          }),
          { numRuns: runs, seed: 20261128 },
        ),
    );
  });

  it('random bytes as a configuration file never escape as anything but a ConfigError', async () => {
    const runs = repeat(1000, 100);
    await propertyCase(
      { group: 'input', name: 'random text as the configuration file', runs, outcome: 'valid or exit 2' },
      () =>
        fc.check(
          fc.property(fc.string({ maxLength: 200 }), (text) => {
            try {
              parseConfig(text, FILE, TARGET_TYPES);
            } catch (err) {
              expect(err).toBeInstanceOf(ConfigError);
            }
          }),
          { numRuns: runs, seed: 7 },
        ),
    );
  });

  it('hostile names never pass validation unescaped: what passes is a plain DNS name', async () => {
    const runs = repeat(5000, 500);
    await propertyCase(
      {
        group: 'input',
        name: 'hostile names (quotes, newlines, ;, {, }, spaces, IDN, over-long labels)',
        runs,
        outcome: 'refused or plain name',
      },
      () =>
        fc.check(
          fc.property(hostile, (name) => {
            const r = expandName(name);
            if (r.ok) for (const n of r.names) expect(n).toMatch(/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/);
            else expect(r.message).not.toContain('\n');
          }),
          { numRuns: runs, seed: 11 },
        ),
    );
  });

  it('random command lines end in a usage error (exit 2) or a command, never a crash', async () => {
    const runs = repeat(500, 100);
    const words = fc.constantFrom(
      'sync',
      'plan',
      'report',
      '--since',
      'x',
      '--format',
      'pdf',
      '--target',
      '--list',
      '-c',
      '--json',
      'db',
      'prune',
      'history',
      '--bogus',
      'profile',
      'show',
      'rules',
      '',
      '-v',
    );
    await propertyCase(
      { group: 'input', name: 'random command lines (fast-check)', runs, outcome: 'command or exit 2' },
      () =>
        fc.check(
          fc.asyncProperty(fc.array(words, { maxLength: 5 }), async (argv) => {
            const program = buildProgram();
            const silence = { writeOut: () => undefined, writeErr: () => undefined };
            program.configureOutput(silence);
            program.commands.forEach(function quiet(c): void {
              c.configureOutput(silence);
              c.commands.forEach(quiet);
              // Only parsing is under test: actions must not run (they would read files or the network).
              c.action(() => undefined);
            });
            try {
              await program.parseAsync(['node', 'dnsfence', ...argv]);
            } catch (err) {
              expect(err).toBeInstanceOf(CommanderError);
            }
          }),
          { numRuns: runs, seed: 3 },
        ),
    );
  });
});
