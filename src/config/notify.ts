import { argvSetting } from './argv.js';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { keyPath } from './key-path.js';
import { positiveDuration, secretKeys } from './schema.js';
import type { SecretRef } from './types.js';
import { schemaWords } from './words.js';

/** What a run can tell the people on call. */
export const NOTIFY_EVENTS = ['change', 'failure', 'degraded', 'recovered'] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

export const NOTIFY_TIMEOUT_MS = 10_000;

interface EntryBase {
  /** `notify[0] webhook (url_env HOOK_URL)`: names the entry in logs, `status` and the database, never its URL. */
  label: string;
  /** The events this entry is sent; `notify test` ignores them. */
  events: NotifyEventKind[];
  /** Bounds each try. */
  timeoutMs: number;
}

export interface WebhookEntry extends EntryBase {
  type: 'webhook';
  /** A secret: the URL carries the hook's token. */
  url: SecretRef | { inline: string };
  format: 'json' | 'slack';
}

export interface ExecEntry extends EntryBase {
  type: 'exec';
  /** argv; the notification's JSON goes to its stdin. */
  command: string[];
}

export type NotifyEntry = WebhookEntry | ExecEntry;

const common = {
  type: z.string(),
  events: z
    .array(z.enum(NOTIFY_EVENTS, { error: `must be one of ${NOTIFY_EVENTS.join(', ')}` }))
    .min(1, 'must name at least one event (or leave it out for all)')
    .optional(),
  timeout: positiveDuration.optional(),
};

const SCHEMAS = {
  webhook: z
    .object({
      ...common,
      url: z.string().min(1).optional(),
      ...secretKeys('url'),
      format: z.enum(['json', 'slack'], { error: 'must be json or slack' }).optional(),
    })
    .strict(),
  exec: z
    .object({ ...common, command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]) })
    .strict(),
};

type Fail = (path: PropertyKey[], message: string) => never;

/** `notify:` of the configuration: each entry checked against its type's keys. */
export function buildNotify(
  raw: Record<string, unknown>[] | undefined,
  dir: string,
  fail: Fail,
  warn: (message: string) => void,
): NotifyEntry[] {
  return (raw ?? []).map((entry, i) => buildEntry(entry, ['notify', i], dir, fail, warn));
}

function buildEntry(
  raw: Record<string, unknown>,
  path: PropertyKey[],
  dir: string,
  fail: Fail,
  warn: (message: string) => void,
): NotifyEntry {
  const types = Object.keys(SCHEMAS).join(', ');
  if (raw.type === undefined) fail([...path, 'type'], `is required: one of ${types}`);
  const schema =
    SCHEMAS[raw.type as keyof typeof SCHEMAS] ?? fail([...path, 'type'], `must be one of ${types}`);
  const parsed = schema.safeParse(raw, { error: schemaWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === 'unrecognized_keys')
      fail(
        path,
        `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} for ${raw.type === 'exec' ? 'an' : 'a'} ${String(raw.type)} notification`,
      );
    fail([...path, ...issue.path], issue.message);
  }
  const own = parsed.data as Record<string, unknown> & { events?: NotifyEventKind[]; timeout?: number };
  const base = { events: own.events ?? [...NOTIFY_EVENTS], timeoutMs: own.timeout ?? NOTIFY_TIMEOUT_MS };
  const at = keyPath(path);
  if (raw.type === 'exec') {
    const command = argvSetting(own.command as string | string[], 'command', 'command', { key: at, warn });
    return { type: 'exec', label: `${at} exec (${command[0]})`, command, ...base };
  }
  const given = (['url', 'url_env', 'url_file'] as const).filter((k) => own[k] !== undefined);
  if (given.length !== 1)
    fail(
      path,
      given.length === 0
        ? 'url_env, url_file or url is required'
        : `give one of ${given.join(', ')}, not several`,
    );
  const format = (own.format as 'json' | 'slack' | undefined) ?? 'json';
  const key = given[0] as 'url' | 'url_env' | 'url_file';
  if (key === 'url') {
    const url = own.url as string;
    // Never the URL itself in a message: its path or query is the hook's token.
    if (!isHttpUrl(url)) fail([...path, 'url'], 'must be an http:// or https:// URL');
    warn(
      `${at}.url: the webhook URL, which carries its token, is written in the configuration file; url_env or url_file keeps it out`,
    );
    return {
      type: 'webhook',
      label: `${at} webhook (url in the configuration)`,
      url: { inline: url },
      format,
      ...base,
    };
  }
  const ref: SecretRef =
    key === 'url_env'
      ? { key: `${at}.url_env`, env: own.url_env as string }
      : { key: `${at}.url_file`, file: resolvePath(dir, own.url_file as string) };
  const from = ref.env !== undefined ? `url_env ${ref.env}` : `url_file ${ref.file}`;
  return { type: 'webhook', label: `${at} webhook (${from})`, url: ref, format, ...base };
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
