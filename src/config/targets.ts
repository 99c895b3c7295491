import { resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import { keyPath } from './key-path.js';
import { targetCommon } from './schema.js';
import type {
  ListConfig,
  SecretRef,
  TargetConfig,
  TargetSettingsContext,
  TargetTypeSpec,
  TlsSettings,
} from './types.js';
import { schemaWords } from './words.js';

export const TARGET_TIMEOUT_MS = 10_000;
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const REMOTE_NAME = /^[A-Za-z0-9_.:-]{1,63}$/;

type Fail = (path: PropertyKey[], message: string) => never;

export interface TargetsInput {
  raw: Record<string, Record<string, unknown>>;
  lists: Map<string, ListConfig>;
  types: readonly TargetTypeSpec[];
  dir: string;
  fail: Fail;
  warn: (message: string) => void;
}

/** Every target, each checked against the schema its type registers and built by that type. */
export function buildTargets(input: TargetsInput): Map<string, TargetConfig> {
  const targets = new Map<string, TargetConfig>();
  for (const [name, raw] of Object.entries(input.raw)) {
    if (!TARGET_NAME.test(name))
      input.fail(['targets', name], 'target names hold letters, digits, _, . and -');
    targets.set(name, buildTarget(name, raw, input));
  }
  return targets;
}

function buildTarget(name: string, raw: Record<string, unknown>, input: TargetsInput): TargetConfig {
  const path = ['targets', name];
  const { types, fail } = input;
  const known = types.map((t) => t.type).join(', ');
  if (raw.type === undefined) fail([...path, 'type'], `is required: one of ${known}`);
  const type = types.find((t) => t.type === raw.type) ?? fail([...path, 'type'], `must be one of ${known}`);
  const parsed = (type.schema.extend(targetCommon) as z.ZodObject)
    .strict()
    .safeParse(raw, { error: schemaWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === 'unrecognized_keys')
      fail(
        path,
        `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} for a ${type.type} target`,
      );
    fail([...path, ...issue.path], issue.message);
  }
  const {
    type: _type,
    lists: rawLists,
    timeout,
    max_remove,
    ...own
  } = parsed.data as {
    type: string;
    lists?: string[] | Record<string, string>;
    timeout?: number;
    max_remove?: number;
  } & Record<string, unknown>;
  const lists = mapLists(path, rawLists, input.lists, fail);
  const at = settingsContext(path, own, lists, input);
  return {
    name,
    type: type.type,
    lists,
    timeoutMs: timeout ?? TARGET_TIMEOUT_MS,
    ...(max_remove !== undefined ? { maxRemove: max_remove } : {}),
    settings: type.settings(own, at),
  };
}

/** `lists:` of a target: every list by default; a list limits it to those; a map also renames. */
function mapLists(
  path: PropertyKey[],
  raw: string[] | Record<string, string> | undefined,
  lists: Map<string, ListConfig>,
  fail: Fail,
): Map<string, string> {
  const mapping = new Map<string, string>();
  if (raw === undefined) {
    for (const list of lists.keys()) mapping.set(list, list);
    return mapping;
  }
  const entries: [string, string][] = Array.isArray(raw) ? raw.map((l) => [l, l]) : Object.entries(raw);
  entries.forEach(([list, remote], i) => {
    const key = Array.isArray(raw) ? [...path, 'lists', i] : [...path, 'lists', list];
    if (!lists.has(list))
      fail(
        key,
        `${JSON.stringify(list)} is not a list of this configuration (lists: ${[...lists.keys()].join(', ') || 'none'})`,
      );
    if (!REMOTE_NAME.test(remote))
      fail(key, `${JSON.stringify(remote)} is not a usable list name on a firewall`);
    mapping.set(list, remote);
  });
  return mapping;
}

/** The shared parts of target settings (paths, TLS, secrets), worded as every type words them. */
function settingsContext(
  path: PropertyKey[],
  own: Record<string, unknown>,
  remotes: Map<string, string>,
  input: TargetsInput,
): TargetSettingsContext {
  const { fail, warn, dir } = input;
  const under = (key: PropertyKey | PropertyKey[]) => [...path, ...(Array.isArray(key) ? key : [key])];
  return {
    key: keyPath(path),
    lists: [...remotes.keys()].map((l) => input.lists.get(l) as ListConfig),
    remotes,
    fail: (key, message) => fail(under(key), message),
    warn,
    path: (text) => resolvePath(dir, text),
    tls(value, key): TlsSettings {
      const v = (typeof value === 'object' && value ? value : {}) as {
        ca?: string;
        fingerprint?: string;
        insecure?: boolean;
      };
      if (v.insecure && (v.ca || v.fingerprint))
        fail(under(key), 'insecure: true cannot be combined with ca or fingerprint');
      if (v.insecure) warn(`${keyPath(under(key))}: insecure: true turns off certificate verification`);
      return {
        insecure: v.insecure ?? false,
        ...(v.ca ? { ca: resolvePath(dir, v.ca) } : {}),
        ...(v.fingerprint ? { fingerprint: v.fingerprint } : {}),
      };
    },
    secret(prefix, required): SecretRef | undefined {
      const env = own[`${prefix}_env`] as string | undefined;
      const file = own[`${prefix}_file`] as string | undefined;
      if (env && file) fail(under(`${prefix}_env`), `give ${prefix}_env or ${prefix}_file, not both`);
      if (!env && !file) {
        if (required)
          fail(path, `${prefix}_env or ${prefix}_file is required (secrets never go into the file itself)`);
        return undefined;
      }
      return {
        key: `${keyPath(path)}.${prefix}_${env ? 'env' : 'file'}`,
        ...(env ? { env } : { file: resolvePath(dir, file as string) }),
      };
    },
  };
}
