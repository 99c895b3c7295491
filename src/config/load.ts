import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { CORE_SCHEMA, load as loadYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import type { Family } from '../address.js';
import { errnoText } from '../errno.js';
import { ConfigError } from '../errors.js';
import { stableJson } from '../json.js';
import { sha256Hex } from '../sha256.js';
import { keyPath } from './key-path.js';
import { buildForward } from './forward.js';
import { buildLists } from './lists.js';
import { buildNotify } from './notify.js';
import { resolverSettings } from './resolvers.js';
import { configSchema, type RawConfig } from './schema.js';
import { buildServe } from './serve.js';
import { buildTargets } from './targets.js';
import type { Config, TargetTypeSpec } from './types.js';
import { schemaWords } from './words.js';

export const DEFAULTS = {
  retentionMs: 24 * 3_600_000,
  staleLimitMs: 7 * 86_400_000,
  timeoutMs: 2000,
  attempts: 2,
  concurrency: 32,
  maxRemove: 0.5,
  maxAddressesPerName: 64,
  families: ['ipv4', 'ipv6'] as Family[],
};

/** Where to look for the configuration when `-c` is not given: $DNSFENCE_CONFIG, ./dnsfence.yaml, /etc/dnsfence. */
export function defaultConfigPath(env = process.env, cwd = process.cwd()): string {
  if (env.DNSFENCE_CONFIG) return resolvePath(cwd, env.DNSFENCE_CONFIG);
  const local = resolvePath(cwd, 'dnsfence.yaml');
  if (existsSync(local)) return local;
  const system = '/etc/dnsfence/dnsfence.yaml';
  return existsSync(system) ? system : local;
}

export function loadConfigFile(file: string, types: readonly TargetTypeSpec[]): Config {
  const path = resolvePath(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (create one with `dnsfence init`, or pass -c FILE)' : '';
    throw new ConfigError(`${path}: cannot read the configuration: ${errnoText(err)}${hint}`);
  }
  const data = readDocument(text, path);
  if (data === null || (typeof data === 'object' && Object.keys(data).length === 0))
    throw new ConfigError(
      `${path}: the configuration is empty: no lists, no targets (dnsfence init writes a commented starter)`,
    );
  return configFromDocument(data, path, types);
}

/**
 * A configuration from YAML text; an empty text gives the defaults (`resolve` needs no file).
 * `types`: the target types it may name (adapters/registry.ts).
 */
export function parseConfig(text: string, file: string, types: readonly TargetTypeSpec[] = []): Config {
  return configFromDocument(readDocument(text, file) ?? {}, file, types);
}

/** The YAML document, or null when the text holds none (empty, or comments only). */
function readDocument(text: string, file: string): unknown {
  try {
    // The YAML 1.2 core schema (no dates, no merge keys); duplicate keys are refused. Aliases
    // share one value instead of copying it, so an alias bomb costs no memory, and the schema
    // below, whose objects and lists nest only a few levels deep, never walks one out.
    return loadYaml(text, { schema: CORE_SCHEMA, filename: file }) ?? null;
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    const where = err.mark ? `:${err.mark.line + 1}:${err.mark.column + 1}` : '';
    throw new ConfigError(`${file}${where}: invalid YAML: ${err.reason}`);
  }
}

function configFromDocument(data: unknown, file: string, types: readonly TargetTypeSpec[]): Config {
  const parsed = configSchema.safeParse(data, { error: schemaWords });
  if (!parsed.success)
    throw new ConfigError(`${file}: ${describeIssue(parsed.error.issues[0] as z.core.$ZodIssue)}`);
  return buildConfig(parsed.data, file, data, types);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key ${issue.keys.map((k) => `${JSON.stringify(k)}`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** `data`: the document as read, which the configuration's hash covers. */
function buildConfig(raw: RawConfig, file: string, data: unknown, types: readonly TargetTypeSpec[]): Config {
  const dir = dirname(file);
  const fail = (path: PropertyKey[], message: string): never => {
    throw new ConfigError(`${file}: ${keyPath(path)}: ${message}`);
  };
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  const { resolvers, dnssec, trust } = resolverSettings(raw, dir, fail, warnings);
  const safety = {
    maxRemove: raw.safety?.max_remove ?? DEFAULTS.maxRemove,
    allowPrivate: raw.safety?.allow_private ?? false,
    maxAddressesPerName: raw.safety?.max_addresses_per_name ?? DEFAULTS.maxAddressesPerName,
  };
  const retentionMs = raw.retention ?? DEFAULTS.retentionMs;
  const families = raw.resolve?.families ?? DEFAULTS.families;
  const lists = buildLists(raw, { retentionMs, families, safety }, fail, warn);
  const targets = buildTargets({ raw: raw.targets ?? {}, lists, types, dir, fail, warn });
  let hash: string | undefined;
  return {
    file,
    dir,
    database: resolvePath(dir, raw.database ?? 'dnsfence.db'),
    resolvers,
    resolve: {
      timeoutMs: raw.resolve?.timeout ?? DEFAULTS.timeoutMs,
      attempts: raw.resolve?.attempts ?? DEFAULTS.attempts,
      concurrency: raw.resolve?.concurrency ?? DEFAULTS.concurrency,
      families,
      ...(dnssec === 'require' ? { dnssec } : {}),
    },
    retentionMs,
    staleLimitMs: raw.stale_limit ?? DEFAULTS.staleLimitMs,
    safety,
    profiles: raw.profiles ?? [],
    lists,
    targets,
    notify: buildNotify(raw.notify, dir, fail, warn),
    ...(raw.serve ? { serve: buildServe(raw.serve, dir, fail) } : {}),
    forward: buildForward(raw.forward, { resolvers, trust, targets, types, fail, warn }),
    // Only a sync records the hash: computed when first asked for, it costs the other commands
    // neither the hashing nor loading node:crypto.
    get hash() {
      return (hash ??= sha256Hex(stableJson(data)));
    },
    warnings,
  };
}
