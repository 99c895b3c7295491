import { accessSync, constants } from 'node:fs';
import { readSecret } from '../config/secrets.js';
import { isHttpUrl, type ExecEntry, type NotifyEntry, type WebhookEntry } from '../config/notify.js';
import { errnoText, errnoWords } from '../errno.js';
import { CommandError, runCommand } from '../process/run.js';
import { formatDuration } from '../time.js';
import type { Notification } from './events.js';
import { body } from './payload.js';

/** Pauses between tries: the second try after 1 s, the third 2 s after that. */
export const BACKOFF_MS = [1000, 2000];

export interface DeliveryResult {
  ok: boolean;
  tries: number;
  /** Why the last try failed, in words; never the URL. */
  detail?: string;
  /** What the admin should hear besides (a secret file others can read). */
  warnings: string[];
}

interface Attempt {
  ok: boolean;
  detail?: string;
  /** Worth trying again: a timeout, a refused connection, a server error; not a wrong URL. */
  retry?: boolean;
}

export interface DeliverOptions {
  host: string;
  /** Waits between tries; a test may pass one that does not. */
  sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends one notification to one entry: up to three tries, each bounded by the entry's timeout,
 * 1 s and 2 s apart. Never throws: a notification must not fail the run it reports on.
 */
export async function deliver(
  entry: NotifyEntry,
  notification: Notification,
  options: DeliverOptions,
): Promise<DeliveryResult> {
  const warnings: string[] = [];
  // The URL is read once per delivery, not once per try.
  const url = entry.type === 'webhook' ? webhookUrl(entry, warnings) : undefined;
  if (typeof url === 'object')
    return { ok: false, tries: 1, ...(url.detail ? { detail: url.detail } : {}), warnings };
  const sleep = options.sleep ?? sleepFor;
  let last: Attempt = { ok: false };
  let tries = 0;
  for (const pause of [0, ...BACKOFF_MS]) {
    if (pause > 0) await sleep(pause);
    tries += 1;
    try {
      last =
        entry.type === 'webhook'
          ? await postWebhook(url as string, entry, notification, options.host)
          : await runExec(entry, notification);
    } catch (err) {
      // Nothing is expected here; whatever it was, the run goes on.
      last = { ok: false, detail: `could not send (${(err as Error).name})`, retry: false };
    }
    if (last.ok || !last.retry) break;
  }
  return {
    ok: last.ok,
    tries,
    ...(last.detail ? { detail: last.detail } : {}),
    warnings,
  };
}

function webhookUrl(entry: WebhookEntry, warnings: string[]): string | Attempt {
  if ('inline' in entry.url) return entry.url.inline;
  let secret;
  try {
    secret = readSecret(entry.url);
  } catch (err) {
    // The key and the variable or file are named, never a value.
    return { ok: false, detail: (err as Error).message, retry: false };
  }
  if (secret.warning) warnings.push(secret.warning);
  const from = entry.url.env !== undefined ? `variable ${entry.url.env}` : (entry.url.file as string);
  if (!isHttpUrl(secret.value))
    return {
      ok: false,
      detail: `${entry.url.key}: ${from} does not hold an http:// or https:// URL`,
      retry: false,
    };
  return secret.value;
}

/** Words for a failed request; undici's own messages may quote the URL, so none is passed on. */
function requestFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT')
    return `no answer within ${formatDuration(timeoutMs)}`;
  const code = e.code ?? e.cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host name not found (${code})`;
  if (code === 'UND_ERR_SOCKET') return 'the server closed the connection';
  if (code && /CERT|SSL|TLS/.test(code)) return `certificate not accepted (${code})`;
  if (code && /^E[A-Z]+$/.test(code)) return errnoWords(code);
  return `request failed (${code ?? e.name ?? 'unknown error'})`;
}

async function postWebhook(
  url: string,
  entry: WebhookEntry,
  notification: Notification,
  host: string,
): Promise<Attempt> {
  // Loaded with the first webhook: commands that send none never load the HTTP client.
  const { request } = await import('undici');
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'dnsfence' },
      body: body(notification, entry.format, host),
      signal: AbortSignal.timeout(entry.timeoutMs),
    });
    const text = await res.body.text().catch(() => '');
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
    // A short word from the service (Slack answers `invalid_token`, `no_service`) helps; a page does not.
    const word = /^[\w .-]{1,60}$/.test(text.trim()) && !url.includes(text.trim()) ? `: ${text.trim()}` : '';
    const retry = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429;
    return { ok: false, detail: `HTTP ${res.statusCode}${word}`, retry };
  } catch (err) {
    return { ok: false, detail: requestFailure(err, entry.timeoutMs), retry: true };
  }
}

async function runExec(entry: ExecEntry, notification: Notification): Promise<Attempt> {
  const program = entry.command[0] as string;
  try {
    const r = await runCommand({
      command: entry.command,
      stdin: JSON.stringify(notification),
      timeoutMs: entry.timeoutMs,
      maxStdoutBytes: 1024 * 1024,
    });
    return r.code === 0
      ? { ok: true }
      : { ok: false, detail: `${program} exited with status ${r.code}`, retry: true };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    // Worded here rather than with the error's message, which repeats the whole command line.
    switch (err.reason) {
      case 'timeout':
        return {
          ok: false,
          detail: `${program} did not finish within ${formatDuration(entry.timeoutMs)} (stopped with its process group)`,
          retry: true,
        };
      case 'not-found':
        return { ok: false, detail: `${program} not found`, retry: false };
      case 'permission-denied':
        return { ok: false, detail: `cannot run ${program}: permission denied`, retry: false };
      default:
        return { ok: false, detail: `${program} failed (${err.reason})`, retry: true };
    }
  }
}

/**
 * For `check`: what would stop every delivery to this entry before anything is sent (a URL
 * variable not set, a file that does not hold a URL); undefined when nothing does. Sends nothing.
 */
export function entryProblem(entry: NotifyEntry): string | undefined {
  if (entry.type === 'exec') {
    // A bare name is looked up on the PATH the run will have, which need not be this one's.
    const program = entry.command[0] as string;
    if (!program.includes('/')) return undefined;
    try {
      accessSync(program, constants.X_OK);
      return undefined;
    } catch (err) {
      return `${program}: ${errnoText(err)}`;
    }
  }
  const url = webhookUrl(entry, []);
  return typeof url === 'string' ? undefined : url.detail;
}
