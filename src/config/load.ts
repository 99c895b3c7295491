import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { CORE_SCHEMA, load as loadYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { parseAddress, type Address, type Family } from '../address.js';
import { errnoText } from '../errno.js';
import { ConfigError } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import { parseDuration } from '../time.js';
import { expandName } from './names.js';
import { findProfile, PROFILES } from './profiles.js';
import { resolverSettings } from './resolvers.js';
import { configSchema, LIST_NAME, type RawConfig, type RawTarget } from './schema.js';
import { schemaWords } from './words.js';
import type { Config, ListConfig, SecretRef, TargetConfig, TlsSettings } from './types.js';

/** Static prefixes wider than these need `allow_wide: true` on their list. */
const WIDEST_PREFIX: Record<Family, number> = { ipv4: 8, ipv6: 32 };

export const DEFAULTS = {
  retentionMs: 24 * 3_600_000,
  staleLimitMs: 7 * 86_400_000,
  timeoutMs: 2000,
  attempts: 2,
  concurrency: 32,
  maxRemove: 0.5,
  maxAddressesPerName: 64,
  targetTimeoutMs: 10_000,
  families: ['ipv4', 'ipv6'] as Family[],
};

/** `lists.web.names[0]` from a zod/our own path. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(top level)';
}

/** Where to look for the configuration when `-c` is not given (PRODUCT.md section 2). */
export function defaultConfigPath(env = process.env, cwd = process.cwd()): string {
  if (env.DNSFENCE_CONFIG) return resolvePath(cwd, env.DNSFENCE_CONFIG);
  const local = resolvePath(cwd, 'dnsfence.yaml');
  if (existsSync(local)) return local;
  const system = '/etc/dnsfence/dnsfence.yaml';
  return existsSync(system) ? system : local;
}

export function loadConfigFile(file: string): Config {
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
  return configFromDocument(data, path);
}

/** A configuration from YAML text; an empty text gives the defaults (`resolve` needs no file). */
export function parseConfig(text: string, file: string): Config {
  return configFromDocument(readDocument(text, file) ?? {}, file);
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

function configFromDocument(data: unknown, file: string): Config {
  const parsed = configSchema.safeParse(data, { error: schemaWords });
  if (!parsed.success)
    throw new ConfigError(`${file}: ${describeIssue(parsed.error.issues[0] as z.core.$ZodIssue)}`);
  return buildConfig(parsed.data, file, data);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key ${issue.keys.map((k) => `${JSON.stringify(k)}`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** `data`: the document as read, which the configuration's hash covers. */
function buildConfig(raw: RawConfig, file: string, data: unknown): Config {
  const dir = dirname(file);
  const fail = (path: PropertyKey[], message: string): never => {
    throw new ConfigError(`${file}: ${keyPath(path)}: ${message}`);
  };
  const warnings: string[] = [];

  const { resolvers, dnssec } = resolverSettings(raw, dir, fail, warnings);

  const safety = {
    maxRemove: raw.safety?.max_remove ?? DEFAULTS.maxRemove,
    allowPrivate: raw.safety?.allow_private ?? false,
    maxAddressesPerName: raw.safety?.max_addresses_per_name ?? DEFAULTS.maxAddressesPerName,
  };
  const retentionMs = raw.retention ?? DEFAULTS.retentionMs;
  const globalFamilies = raw.resolve?.families ?? DEFAULTS.families;

  const lists = new Map<string, ListConfig>();
  const profiles = raw.profiles ?? [];
  profiles.forEach((name, i) => {
    const profile = findProfile(name);
    if (!profile)
      fail(
        ['profiles', i],
        `unknown profile ${JSON.stringify(name)} (known: ${PROFILES.map((p) => p.name).join(', ')})`,
      );
    for (const pl of profile!.lists) {
      lists.set(pl.name, {
        name: pl.name,
        names: pl.names.flatMap((n) => {
          const r = expandName(n);
          return r.ok ? r.names : [];
        }),
        static: [],
        retentionMs: pl.retention ? (parseDuration(pl.retention) ?? retentionMs) : retentionMs,
        families: globalFamilies,
        maxAddressesPerName: safety.maxAddressesPerName,
        allowPrivate: safety.allowPrivate,
        profile: profile!.name,
        ...(pl.note ? { note: pl.note } : {}),
      });
    }
  });

  for (const [listName, rawList] of Object.entries(raw.lists ?? {})) {
    const path = ['lists', listName];
    if (!LIST_NAME.test(listName)) {
      fail(
        path,
        'list names start with a letter and hold up to 28 letters, digits or _ (they must fit nft, RouterOS and OPNsense)',
      );
    }
    const base = lists.get(listName);
    const names: string[] = [];
    (rawList?.names ?? []).forEach((n, i) => {
      const r = expandName(n);
      if (!r.ok) fail([...path, 'names', i], r.message);
      else names.push(...r.names);
    });
    const statics: Address[] = [];
    (rawList?.static ?? []).forEach((s, i) => {
      const a = parseAddress(s);
      if (!a) fail([...path, 'static', i], `${JSON.stringify(s)} is not an IP address or prefix`);
      const widest = WIDEST_PREFIX[a!.family];
      if (a!.prefix < widest && !rawList?.allow_wide)
        fail(
          [...path, 'static', i],
          `${JSON.stringify(s)} is wider than /${widest}: an allow-list entry that opens this much is almost always a mistake ` +
            '(set allow_wide: true on the list if it is meant)',
        );
      statics.push(a!);
    });
    const allow: Address[] = [];
    (rawList?.allow ?? []).forEach((s, i) => {
      const a = parseAddress(s);
      if (!a)
        fail(
          [...path, 'allow', i],
          `${JSON.stringify(s)} is not an IP prefix (e.g. 198.51.100.0/24, 2001:db8::/32)`,
        );
      else allow.push(a);
    });
    const merged: ListConfig = {
      name: listName,
      names: unique([...(base?.names ?? []), ...names]),
      static: uniqueBy([...(base?.static ?? []), ...statics], (a) => a.text),
      retentionMs: rawList?.retention ?? base?.retentionMs ?? retentionMs,
      families: rawList?.families ?? base?.families ?? globalFamilies,
      maxAddressesPerName:
        rawList?.max_addresses_per_name ?? base?.maxAddressesPerName ?? safety.maxAddressesPerName,
      allowPrivate: rawList?.allow_private ?? base?.allowPrivate ?? safety.allowPrivate,
      ...(allow.length > 0 ? { allow } : {}),
      ...(rawList?.max_remove !== undefined ? { maxRemove: rawList.max_remove } : {}),
      ...(base?.profile ? { profile: base.profile } : {}),
    };
    if (base?.note && names.length === 0) merged.note = base.note;
    lists.set(listName, merged);
  }
  for (const list of lists.values()) {
    if (list.names.length === 0 && list.static.length === 0) {
      warnings.push(
        `lists.${list.name}: has no names and no static entries${list.note ? `: ${list.note}` : ''}`,
      );
    }
  }

  const targets = new Map<string, TargetConfig>();
  for (const [name, rawTarget] of Object.entries(raw.targets ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
      fail(['targets', name], 'target names hold letters, digits, _, . and -');
    }
    targets.set(name, buildTarget(name, rawTarget, lists, dir, fail, warnings));
  }

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
      families: globalFamilies,
      ...(dnssec === 'require' ? { dnssec } : {}),
    },
    retentionMs,
    staleLimitMs: raw.stale_limit ?? DEFAULTS.staleLimitMs,
    safety,
    profiles,
    lists,
    targets,
    // Only a sync records the hash: computed when first asked for, it costs the other commands
    // neither the hashing nor loading node:crypto.
    get hash() {
      return (hash ??= sha256Hex(stableJson(data)));
    },
    warnings,
  };
}

function buildTarget(
  name: string,
  raw: RawTarget,
  lists: Map<string, ListConfig>,
  dir: string,
  fail: (path: PropertyKey[], message: string) => never,
  warnings: string[],
): TargetConfig {
  const path = ['targets', name];
  const mapping = new Map<string, string>();
  if (raw.lists === undefined) {
    for (const list of lists.keys()) mapping.set(list, list);
  } else {
    const entries: [string, string][] = Array.isArray(raw.lists)
      ? raw.lists.map((l) => [l, l])
      : Object.entries(raw.lists);
    entries.forEach(([list, remote], i) => {
      const keyed = Array.isArray(raw.lists) ? [...path, 'lists', i] : [...path, 'lists', list];
      if (!lists.has(list))
        fail(
          keyed,
          `${JSON.stringify(list)} is not a list of this configuration (lists: ${[...lists.keys()].join(', ') || 'none'})`,
        );
      if (!/^[A-Za-z0-9_.:-]{1,63}$/.test(remote))
        fail(keyed, `${JSON.stringify(remote)} is not a usable list name on a firewall`);
      mapping.set(list, remote);
    });
  }
  const timeoutMs = raw.timeout ?? DEFAULTS.targetTimeoutMs;
  const base = {
    name,
    lists: mapping,
    timeoutMs,
    ...(raw.max_remove !== undefined ? { maxRemove: raw.max_remove } : {}),
  };
  const tlsOf = (t: unknown, key: PropertyKey[]): TlsSettings => {
    const v = (typeof t === 'object' && t ? t : {}) as {
      ca?: string;
      fingerprint?: string;
      insecure?: boolean;
    };
    if (v.insecure && (v.ca || v.fingerprint))
      fail(key, 'insecure: true cannot be combined with ca or fingerprint');
    if (v.insecure) warnings.push(`${keyPath(key)}: insecure: true turns off certificate verification`);
    return {
      insecure: v.insecure ?? false,
      ...(v.ca ? { ca: resolvePath(dir, v.ca) } : {}),
      ...(v.fingerprint ? { fingerprint: v.fingerprint } : {}),
    };
  };
  const secret = (prefix: string, required: boolean): SecretRef | undefined => {
    const r = raw as unknown as Record<string, string | undefined>;
    const env = r[`${prefix}_env`];
    const file = r[`${prefix}_file`];
    if (env && file) fail([...path, `${prefix}_env`], `give ${prefix}_env or ${prefix}_file, not both`);
    if (!env && !file) {
      if (required)
        fail(path, `${prefix}_env or ${prefix}_file is required (secrets never go into the file itself)`);
      return undefined;
    }
    return {
      key: `${keyPath(path)}.${prefix}_${env ? 'env' : 'file'}`,
      ...(env ? { env } : { file: resolvePath(dir, file!) }),
    };
  };
  /** A list that asks for the family this target cannot hold: said once, not dropped silently. */
  const warnOtherFamily = (holds: Family) => {
    const other: Family = holds === 'ipv4' ? 'ipv6' : 'ipv4';
    for (const listName of mapping.keys()) {
      const list = lists.get(listName) as ListConfig;
      const statics = list.static.filter((a) => a.family === other).map((a) => a.text);
      const asks = list.names.length > 0 && list.families.includes(other);
      if (!asks && statics.length === 0) continue;
      const what = [
        ...(asks ? [`${other === 'ipv6' ? 'AAAA' : 'A'} answers`] : []),
        ...(statics.length > 0 ? [`static ${statics.join(', ')}`] : []),
      ].join(' and ');
      warnings.push(
        `${keyPath(path)}: holds ${holds === 'ipv4' ? 'IPv4' : 'IPv6'} only; list ${listName}'s ${what} will not reach it` +
          ` (set families: [${holds}] on the list, or family: inet on the target)`,
      );
    }
  };
  switch (raw.type) {
    case 'nftables': {
      const family = raw.family ?? 'inet';
      if (typeof raw.nft === 'string' && /\s/.test(raw.nft.trim()))
        warnings.push(
          `${keyPath([...path, 'nft'])}: ${JSON.stringify(raw.nft)} is one program name; to pass arguments write a list: [${raw.nft.trim().split(/\s+/).join(', ')}]`,
        );
      if (family !== 'inet') warnOtherFamily(family === 'ip' ? 'ipv4' : 'ipv6');
      return {
        ...base,
        type: 'nftables',
        family,
        table: raw.table ?? 'dnsfence',
        nft: Array.isArray(raw.nft) ? raw.nft : [raw.nft ?? 'nft'],
      };
    }
    case 'file':
      return { ...base, type: 'file', dir: resolvePath(dir, raw.dir) };
    case 'mikrotik': {
      const tls = raw.tls === undefined || raw.tls === false ? false : tlsOf(raw.tls, [...path, 'tls']);
      return {
        ...base,
        type: 'mikrotik',
        host: raw.host,
        port: raw.port ?? (tls ? 8729 : 8728),
        tls,
        username: raw.username,
        password: secret('password', true)!,
      };
    }
    case 'opnsense': {
      const key = secret('key', false);
      const sec = secret('secret', false);
      if (!raw.api_key_file && !(key && sec)) {
        fail(path, 'api_key_file, or key_env/key_file together with secret_env/secret_file, is required');
      }
      return {
        ...base,
        type: 'opnsense',
        url: raw.url,
        tls: tlsOf(raw.tls, [...path, 'tls']),
        adopt: raw.adopt ?? false,
        ...(raw.api_key_file ? { apiKeyFile: resolvePath(dir, raw.api_key_file) } : {}),
        ...(key ? { key } : {}),
        ...(sec ? { secret: sec } : {}),
      };
    }
  }
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
