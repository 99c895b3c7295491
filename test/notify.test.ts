import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import type { NotifyEntry } from '../src/config/notify.js';
import { ConfigError } from '../src/errors.js';
import { BACKOFF_MS, deliver, entryProblem } from '../src/notify/deliver.js';
import type { Notification } from '../src/notify/events.js';
import { chatText } from '../src/notify/payload.js';
import { refusingPort, WebhookReceiver } from './fakes/webhook.js';
import { assertNoSecret, registerSecret, tempDir } from './helpers.js';
import { groupMembers } from './process-group.js';

const TOKEN = registerSecret('T0DNSF/B0HOOK/s3cr3t-hook-token-4e7a');

let dir: ReturnType<typeof tempDir>;
let receiver: WebhookReceiver;
let pauses: number[];

beforeEach(async () => {
  dir = tempDir();
  receiver = await new WebhookReceiver().start();
  pauses = [];
});
afterEach(async () => {
  await receiver.stop();
  for (const r of receiver.received) assertNoSecret(r.body, 'a webhook body');
  dir.cleanup();
});

/** Notify entries as the configuration builds them. */
function entries(yaml: string): NotifyEntry[] {
  return parseConfig(`notify:\n${yaml}`, join(dir.path, 'dnsfence.yaml')).notify;
}
const entry = (yaml: string) => entries(yaml)[0] as NotifyEntry;

const NOTIFICATION: Notification = {
  run: 7,
  time: '2026-11-28T05:00:00.000Z',
  events: [
    {
      event: 'change',
      target: 'local',
      list: 'web',
      added: ['192.0.2.1'],
      removed: ['198.51.100.9'],
      names: ['www.example.com'],
      message: 'local/web: 1 added (dns), 1 removed (expired)',
    },
    {
      event: 'failure',
      target: 'edge',
      list: null,
      added: [],
      removed: [],
      names: [],
      message: 'target edge: connection refused <ECONNREFUSED> & gone',
    },
  ],
};

const send = (e: NotifyEntry, env: Record<string, string> = {}) => {
  Object.assign(process.env, env);
  return deliver(e, NOTIFICATION, { host: 'fw1', sleep: async (ms) => void pauses.push(ms) }).finally(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
};

describe('notification entries in the configuration', () => {
  it('reads webhook and exec entries with their defaults; the URL is named by where it comes from', () => {
    const [hook, exec] = entries(
      '  - type: webhook\n    url_env: HOOK_URL\n  - type: exec\n    command: [/usr/local/bin/page-oncall, --urgent]\n    events: [failure]\n    timeout: 3s\n',
    );
    expect(hook).toEqual({
      type: 'webhook',
      label: 'notify[0] webhook (url_env HOOK_URL)',
      url: { key: 'notify[0].url_env', env: 'HOOK_URL' },
      format: 'json',
      events: ['change', 'failure', 'degraded', 'recovered'],
      timeoutMs: 10_000,
    });
    expect(exec).toEqual({
      type: 'exec',
      label: 'notify[1] exec (/usr/local/bin/page-oncall)',
      command: ['/usr/local/bin/page-oncall', '--urgent'],
      events: ['failure'],
      timeoutMs: 3000,
    });
  });

  it('an inline URL is allowed but warned about, and never repeated in a message', () => {
    const config = parseConfig(
      `notify:\n  - { type: webhook, url: "${receiver.url(`/${TOKEN}`)}" }\n`,
      '/x.yaml',
    );
    expect(config.notify[0]?.label).toBe('notify[0] webhook (url in the configuration)');
    expect(config.warnings).toEqual([
      'notify[0].url: the webhook URL, which carries its token, is written in the configuration file; url_env or url_file keeps it out',
    ]);
    const bad = () => parseConfig(`notify:\n  - { type: webhook, url: "ftp://x/${TOKEN}" }\n`, '/x.yaml');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow('/x.yaml: notify[0].url: must be an http:// or https:// URL');
  });

  it('refuses what cannot work, naming the key', () => {
    const error = (yaml: string) => {
      try {
        entries(yaml);
      } catch (err) {
        return (err as Error).message.replace(/^.*dnsfence\.yaml: /, '');
      }
      throw new Error('expected an error');
    };
    expect(error('  - { type: webhook }\n')).toBe('notify[0]: url_env, url_file or url is required');
    expect(error('  - { type: webhook, url_env: A, url_file: b }\n')).toBe(
      'notify[0]: give one of url_env, url_file, not several',
    );
    expect(error('  - { type: pager }\n')).toBe('notify[0].type: must be one of webhook, exec');
    expect(error('  - { type: exec, command: [x], format: slack }\n')).toBe(
      'notify[0]: unknown key "format" for an exec notification',
    );
    expect(error('  - { type: webhook, url_env: A, events: [changes] }\n')).toBe(
      'notify[0].events[0]: must be one of change, failure, degraded, recovered',
    );
    expect(error('  - { type: webhook, url_env: A, format: teams }\n')).toBe(
      'notify[0].format: must be json or slack',
    );
  });
});

describe('webhook delivery (a real HTTP receiver on 127.0.0.1)', () => {
  it('json: POSTs the notification as it is, once', async () => {
    const r = await send(entry('  - { type: webhook, url_env: HOOK_URL }\n'), {
      HOOK_URL: receiver.url(`/${TOKEN}`),
    });
    expect(r).toEqual({ ok: true, tries: 1, warnings: [] });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.path).toBe(`/${TOKEN}`);
    expect(receiver.received[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(receiver.received[0]!.body)).toEqual(NOTIFICATION);
  });

  it('slack: one {"text"} message, a line per event, Slack\'s control characters escaped', async () => {
    await send(entry('  - { type: webhook, url_env: HOOK_URL, format: slack }\n'), {
      HOOK_URL: receiver.url('/hook'),
    });
    expect(receiver.bodies()).toEqual([{ text: chatText(NOTIFICATION, 'fw1') }]);
    expect(chatText(NOTIFICATION, 'fw1')).toBe(
      'dnsfence on fw1, run 7: change, failure\n' +
        '• change: local/web: 1 added (dns), 1 removed (expired): +192.0.2.1 -198.51.100.9 (www.example.com)\n' +
        '• failure: target edge: connection refused &lt;ECONNREFUSED&gt; &amp; gone',
    );
  });

  it('a server error is tried again, 1 s and 2 s later; the third try that succeeds ends it', async () => {
    receiver.answer = (n) => (n < 3 ? 503 : 200);
    const r = await send(entry('  - { type: webhook, url_env: HOOK_URL }\n'), {
      HOOK_URL: receiver.url('/hook'),
    });
    expect(r).toMatchObject({ ok: true, tries: 3 });
    expect(pauses).toEqual(BACKOFF_MS);
    expect(BACKOFF_MS).toEqual([1000, 2000]);
    expect(receiver.received).toHaveLength(3);
  });

  it('three failures at most, then the reason in words; a 4xx is not tried again', async () => {
    receiver.answer = () => 500;
    expect(await send(entry('  - { type: webhook, url_env: H }\n'), { H: receiver.url('/x') })).toMatchObject(
      {
        ok: false,
        tries: 3,
        detail: 'HTTP 500: no_service',
      },
    );
    receiver.answer = () => 404;
    expect(await send(entry('  - { type: webhook, url_env: H }\n'), { H: receiver.url('/x') })).toMatchObject(
      {
        ok: false,
        tries: 1,
        detail: 'HTTP 404: no_service',
      },
    );
  });

  it('a receiver that never answers: each try ends at the timeout', async () => {
    receiver.answer = () => 'hang';
    const r = await send(entry('  - { type: webhook, url_env: H, timeout: 300ms }\n'), {
      H: receiver.url(`/${TOKEN}`),
    });
    expect(r).toMatchObject({ ok: false, tries: 3, detail: 'no answer within 300ms' });
    expect(receiver.received).toHaveLength(3);
  });

  it('a refused connection, a missing variable, a file without a URL: said without the URL', async () => {
    const port = await refusingPort();
    const refused = await send(entry('  - { type: webhook, url_env: H }\n'), {
      H: `http://127.0.0.1:${port}/${TOKEN}`,
    });
    expect(refused).toMatchObject({ ok: false, tries: 3, detail: 'connection refused (ECONNREFUSED)' });
    const unset = await send(entry('  - { type: webhook, url_env: NOT_SET_ANYWHERE }\n'));
    expect(unset).toMatchObject({
      ok: false,
      tries: 1,
      detail: 'notify[0].url_env: environment variable NOT_SET_ANYWHERE is not set or empty',
    });
    const file = dir.secretFile('hook.url');
    writeFileSync(file, `not a url ${TOKEN}\n`, { mode: 0o644 });
    const e = entry('  - { type: webhook, url_file: hook.url }\n');
    expect(entryProblem(e)).toBe(`notify[0].url_file: ${file} does not hold an http:// or https:// URL`);
    const r = await send(e);
    expect(r).toMatchObject({
      ok: false,
      tries: 1,
      detail: `notify[0].url_file: ${file} does not hold an http:// or https:// URL`,
    });
    // A URL file others can read is said, as for every secret file.
    expect(r.warnings).toEqual([
      `notify[0].url_file: ${file} is readable by group or others (mode 644); chmod 600 it`,
    ]);
    for (const x of [refused, unset, r]) expect(JSON.stringify(x)).not.toContain(TOKEN);
  });
});

describe('exec delivery', () => {
  function script(name: string, body: string): string {
    const path = join(dir.path, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it("hands the notification's JSON to the command on stdin", async () => {
    const out = join(dir.path, 'got.json');
    const page = script('page', `cat > ${out}`);
    expect(await send(entry(`  - { type: exec, command: [${page}] }\n`))).toEqual({
      ok: true,
      tries: 1,
      warnings: [],
    });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(NOTIFICATION);
  });

  it('a failing command is tried three times; one missing is not tried again', async () => {
    const count = join(dir.path, 'count');
    const fails = script('fails', `echo x >> ${count}; exit 3`);
    expect(await send(entry(`  - { type: exec, command: [${fails}, --secret-arg] }\n`))).toMatchObject({
      ok: false,
      tries: 3,
      detail: `${fails} exited with status 3`,
    });
    expect(readFileSync(count, 'utf8')).toBe('x\nx\nx\n');
    const missing = entry('  - { type: exec, command: [/nonexistent/page] }\n');
    expect(entryProblem(missing)).toBe('/nonexistent/page: no such file or directory (ENOENT)');
    expect(entryProblem(entry(`  - { type: exec, command: [${fails}] }\n`))).toBeUndefined();
    expect(await send(missing)).toMatchObject({
      ok: false,
      tries: 1,
      detail: '/nonexistent/page not found',
    });
  });

  it('a command that outlives its timeout is stopped with everything it started', async () => {
    const pids = join(dir.path, 'pids');
    // The hook starts a child that would outlive it, and hangs itself.
    const hangs = script('hangs', `sleep 300 & echo $$ >> ${pids}; wait`);
    const r = await send(entry(`  - { type: exec, command: [${hangs}], timeout: 300ms }\n`));
    expect(r).toMatchObject({
      ok: false,
      tries: 3,
      detail: `${hangs} did not finish within 300ms (stopped with its process group)`,
    });
    const groups = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(groups).toHaveLength(3);
    for (const pgid of groups) expect(groupMembers(pgid)).toEqual([]);
  });
});
