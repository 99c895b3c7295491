import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../../src/notify/events.js';
import { refusingPort, WebhookReceiver } from '../fakes/webhook.js';
import { assertNoSecret, cli, registerSecret, waitFor } from '../helpers.js';
import { dir, run, useCliWorld, v4, writeConfig, zone } from './world.js';

useCliWorld();

const TOKEN = registerSecret('XH00K/e2e/7b1f0c9d2a-webhook-secret');
let hook: WebhookReceiver;

beforeEach(async () => {
  hook = await new WebhookReceiver().start();
});
afterEach(async () => {
  await hook.stop();
  for (const r of hook.received) assertNoSecret(r.body, 'a webhook body');
});

/** The URL lives in a variable, as the documentation advises. */
const env = () => ({ HOOK_URL: hook.url(`/${TOKEN}`) });
const withHook = (args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args], { env: env() });

function pager(): string {
  const path = join(dir.path, 'page');
  writeFileSync(path, `#!/bin/sh\ncat >> ${dir.path}/paged.jsonl\necho >> ${dir.path}/paged.jsonl\n`);
  chmodSync(path, 0o755);
  return path;
}
const paged = (): Notification[] => {
  try {
    return readFileSync(join(dir.path, 'paged.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Notification);
  } catch {
    return [];
  }
};

const rows = () => {
  const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT run_id, entry, events, outcome, tries, detail FROM notifications ORDER BY id')
      .all();
  } finally {
    db.close();
  }
};

describe('notifications, end to end', () => {
  it('one notification per entry per run holding all its events; none when nothing happened; status shows the last', async () => {
    writeConfig(
      `notify:\n  - { type: webhook, url_env: HOOK_URL }\n  - { type: exec, command: [${pager()}], events: [failure, recovered] }\n`,
    );
    const first = await withHook(['sync']);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const [n] = hook.bodies<Notification>();
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.path).toBe(`/${TOKEN}`);
    expect(n).toMatchObject({ run: 1, time: expect.stringMatching(/^\d{4}-/) });
    expect(n?.events).toEqual([
      {
        event: 'change',
        target: 'local',
        list: 'web',
        added: ['192.0.2.1', '198.51.100.1', '198.51.100.2', '2001:db8::1'],
        removed: [],
        names: ['api.example.com', 'www.example.com'],
        message: 'local/web: 4 added (dns)',
      },
      expect.objectContaining({
        event: 'change',
        target: 'export',
        list: 'web',
        message: 'export/web: 4 added (dns)',
      }),
    ]);
    // The exec entry listens to failures and recoveries only.
    expect(paged()).toEqual([]);
    const quiet = await withHook(['sync']);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(hook.received).toHaveLength(1);
    expect(rows()).toEqual([
      {
        run_id: 1,
        entry: 'notify[0] webhook (url_env HOOK_URL)',
        events: '["change"]',
        outcome: 'delivered',
        tries: 1,
        detail: null,
      },
    ]);
    const status = await run('status');
    expect(status.stdout).toMatch(
      /\nnotifications\n {2}notify\[0\] webhook \(url_env HOOK_URL\): last \S+Z delivered \(change\)\n {2}notify\[1\] exec \(\S+\/page\): nothing sent yet \(dnsfence notify test sends a test event\)/,
    );
    const json = JSON.parse((await run('--json', 'status')).stdout) as {
      notifications: { entry: string; last: unknown }[];
    };
    expect(json.notifications[0]).toMatchObject({
      entry: 'notify[0] webhook (url_env HOOK_URL)',
      last: { outcome: 'delivered', events: ['change'] },
    });
  });

  it('degraded, then recovered: the first clean run after a degraded one says so; failure reaches the pager', async () => {
    writeConfig(
      `notify:\n  - { type: webhook, url_env: HOOK_URL, events: [degraded, recovered] }\n  - { type: exec, command: [${pager()}], events: [failure, recovered] }\n`,
    );
    await withHook(['sync']);
    expect(hook.received).toHaveLength(0);
    zone.set('api.example.com', { behaviour: 'servfail' });
    const degraded = await withHook(['sync']);
    expect(degraded.code).toBe(3);
    expect(hook.bodies<Notification>()[0]?.events).toEqual([
      {
        event: 'degraded',
        target: null,
        list: null,
        added: [],
        removed: [],
        names: ['api.example.com'],
        message:
          '1 name(s) failing, their last good addresses kept: api.example.com A servfail, api.example.com AAAA servfail',
      },
    ]);
    zone.set('api.example.com', { a: ['198.51.100.1', '198.51.100.2'], ttl: 60 });
    const clean = await withHook(['sync']);
    expect(clean.code).toBe(0);
    const recovered = { event: 'recovered', message: 'run 3 is clean again after a degraded run' };
    expect(hook.bodies<Notification>()[1]?.events).toEqual([expect.objectContaining(recovered)]);
    expect(paged().map((p) => p.events)).toEqual([[expect.objectContaining(recovered)]]);
    // A target that fails: the pager hears it, with the reason.
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(/nft: \[.*\]/, 'nft: [/nonexistent/nft]'),
    );
    expect((await withHook(['sync'])).code).toBe(1);
    expect(paged()[1]?.events).toEqual([
      expect.objectContaining({
        event: 'failure',
        target: 'local',
        message: 'target local: /nonexistent/nft not found (is nftables installed?)',
      }),
    ]);
  });

  it('a receiver that hangs: the run keeps its exit code, one warning line, the failure recorded and reported', async () => {
    hook.answer = () => 'hang';
    writeConfig('notify:\n  - { type: webhook, url_env: HOOK_URL, timeout: 1s }\n');
    const r = await withHook(['sync']);
    expect(r.code).toBe(0);
    expect(v4()).toEqual(['192.0.2.1', '198.51.100.1', '198.51.100.2']);
    expect(r.stderr.trim().split('\n')).toEqual([
      "warn: notify[0] webhook (url_env HOOK_URL): notification not delivered after 3 tries: no answer within 1s (the run's result stands)",
    ]);
    expect(hook.received).toHaveLength(3);
    expect(rows()).toEqual([
      expect.objectContaining({ outcome: 'failed', tries: 3, detail: 'no answer within 1s' }),
    ]);
    const text = await run('report');
    expect(text.stdout).toMatch(
      /notifications\s+0 delivered, 1 failed; failed: notify\[0\] webhook \(url_env HOOK_URL\): 1 \(last \S+ \S+Z: no answer within 1s\)/,
    );
    const md = await run('report', '--format', 'md');
    expect(md.stdout).toMatch(/\| notifications \| \*\*0 delivered, 1 failed; failed: notify\[0\]/);
    const html = await run('report', '--format', 'html');
    expect(html.stdout).toMatch(
      /<td>Notifications<\/td><td class="w"><span class="bad">0 delivered, 1 failed; failed: notify\[0\]/,
    );
    const json = JSON.parse((await run('report', '--format', 'json')).stdout) as {
      summary: { notifications: unknown };
    };
    expect(json.summary.notifications).toEqual({
      delivered: 0,
      failed: [
        {
          entry: 'notify[0] webhook (url_env HOOK_URL)',
          count: 1,
          lastAt: expect.any(String),
          detail: 'no answer within 1s',
        },
      ],
    });
  });

  it('notify test: every entry, whatever its events; each result; exit 1 when one failed', async () => {
    const port = await refusingPort();
    writeConfig(
      `notify:\n  - { type: webhook, url_env: HOOK_URL, events: [failure], format: slack }\n  - { type: webhook, url: "http://127.0.0.1:${port}/${TOKEN}" }\n`,
    );
    const r = await withHook(['notify', 'test']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'ok    notify[0] webhook (url_env HOOK_URL): delivered',
      'FAIL  notify[1] webhook (url in the configuration): not delivered after 3 tries: connection refused (ECONNREFUSED)',
    ]);
    // The inline URL is warned about, without itself.
    expect(r.stderr).toContain(
      'warn: notify[1].url: the webhook URL, which carries its token, is written in the configuration file',
    );
    expect(hook.bodies<{ text: string }>()[0]?.text).toMatch(
      /^dnsfence on \S+: test\n• test: a test notification from dnsfence on /,
    );
    writeConfig('notify:\n  - { type: webhook, url_env: HOOK_URL }\n');
    const ok = await withHook(['--json', 'notify', 'test']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual([
      { entry: 'notify[0] webhook (url_env HOOK_URL)', ok: true, tries: 1, detail: null },
    ]);
    expect(hook.bodies<Notification>()[1]).toMatchObject({ run: null, events: [{ event: 'test' }] });
    const status = await run('status');
    expect(status.stdout).toMatch(/notify\[0\] webhook \(url_env HOOK_URL\): last \S+Z delivered \(test\)/);
    writeConfig();
    const none = await run('notify', 'test');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/notify: no entries configured/);
  });

  it('check names a notification whose URL variable is not set, offline too', async () => {
    writeConfig('notify:\n  - { type: webhook, url_env: HOOK_URL }\n');
    const missing = await run('check', '--offline');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      'FAIL  notify[0] webhook (url_env HOOK_URL): notify[0].url_env: environment variable HOOK_URL is not set or empty',
    );
    const set = await withHook(['check', '--offline']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(
      'ok    notify[0] webhook (url_env HOOK_URL): ready (dnsfence notify test sends a test event)',
    );
  });

  it("watch sends one notification per sync it performs, holding that sync's events", async () => {
    zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 1 });
    writeConfig('notify:\n  - { type: webhook, url_env: HOOK_URL, events: [change] }\n');
    const watcher = withHook(['watch', '--min-interval', '1s']);
    try {
      await waitFor(() => hook.received.length === 1, 10_000, 'the first notification');
      zone.set('www.example.com', { a: ['192.0.2.99'], aaaa: ['2001:db8::1'], ttl: 1 });
      await waitFor(() => hook.received.length === 2, 10_000, 'the notification of the change');
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    expect((await watcher).code).toBe(0);
    const [first, second] = hook.bodies<Notification>();
    expect(first?.events.map((e) => `${e.target}/${e.list} +${e.added.length} -${e.removed.length}`)).toEqual(
      ['local/web +4 -0', 'export/web +4 -0'],
    );
    expect(second?.events.map((e) => [e.target, e.added])).toEqual([
      ['local', ['192.0.2.99']],
      ['export', ['192.0.2.99']],
    ]);
    expect(second!.run).toBeGreaterThan(first!.run!);
    expect(rows().map((r) => (r as { outcome: string }).outcome)).toEqual(['delivered', 'delivered']);
  });
});
