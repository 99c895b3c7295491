import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from '../fakes/dns.js';
import { FakeOpnsense } from '../fakes/opnsense.js';
import { FakeRouterOS } from '../fakes/routeros.js';
import { WebhookReceiver } from '../fakes/webhook.js';
import {
  assertNoSecret,
  cli,
  registerSecret,
  selfSignedCert,
  startZone,
  tempDir,
  waitFor,
} from '../helpers.js';
import { recordSecretScan } from './campaign.js';

// Every command, on success and on the failures that print the most (wrong credentials, a dropped
// connection, verbose mode), against targets that need a password, an API key and secret. The
// helpers scan every stdout and stderr and, at cleanup, every file left behind (database, WAL,
// reports, metrics, lists) for the fakes' credentials and for the wrong ones given here.

const WRONG_PASSWORD = registerSecret('wrong-router-password-5d1e');
const WRONG_SECRET = registerSecret('wrong-opnsense-secret-8c2a');
// Webhook URLs carry their token in the path: the URL is a secret like a password.
const HOOK_TOKEN = registerSecret('T0SECRETS/B0SCAN/hook-token-91d3');

let zone: TestZoneServer;
let dnsPort: number;
let certs: ReturnType<typeof selfSignedCert>;
let certDir: ReturnType<typeof tempDir>;
let dir: ReturnType<typeof tempDir>;
let ros: FakeRouterOS;
let opn: FakeOpnsense;
let hook: WebhookReceiver;

beforeAll(async () => {
  ({
    zone,
    spec: { port: dnsPort },
  } = await startZone());
  certDir = tempDir();
  certs = selfSignedCert(certDir.path);
});
afterAll(async () => {
  await zone.stop();
  certDir.cleanup();
  recordSecretScan('every command against RouterOS, OPNsense and file targets');
});

beforeEach(async () => {
  dir = tempDir();
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 60 });
  ros = new FakeRouterOS();
  await ros.start();
  opn = new FakeOpnsense();
  await opn.start(certs);
  hook = await new WebhookReceiver().start();
});
afterEach(async () => {
  await ros.stop();
  await opn.stop();
  await hook.stop();
  for (const r of hook.received) assertNoSecret(r.body, 'a webhook body');
  dir.cleanup();
});

function config(password = ros.password): void {
  const passwordFile = dir.secretFile('router.pw');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${dnsPort}"]
resolve: { timeout: 2s, attempts: 1 }
lists:
  web:
    names: [www.example.com]
targets:
  edge:
    type: mikrotik
    host: 127.0.0.1
    port: ${ros.port}
    username: dnsfence
    password_file: router.pw
    timeout: 2s
  opn:
    type: opnsense
    url: ${opn.url}
    key_env: OPN_KEY
    secret_env: OPN_SECRET
    tls: { ca: ${certs.certFile} }
    timeout: 2s
  out: { type: file, dir: lists }
notify:
  - { type: webhook, url_env: HOOK_URL, format: slack }
  - { type: webhook, url_env: HOOK_URL }
`,
  );
}

const run = (args: string[], secret = opn.secret): ReturnType<typeof cli> =>
  cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args], {
    env: { OPN_KEY: opn.key, OPN_SECRET: secret, HOOK_URL: hook.url(`/${HOOK_TOKEN}`) },
  });

describe('secrets never leave their files', () => {
  it('every command, in every output format, prints and stores no credential', async () => {
    config();
    const commands = [
      ['check'],
      ['-v', 'check'],
      ['resolve'],
      ['plan'],
      ['--json', 'plan'],
      ['-v', 'sync', '--metrics-file', join(dir.path, 'metrics.prom')],
      ['--json', 'sync'],
      ['status'],
      ['--json', 'status'],
      ['history', 'www.example.com'],
      ['--json', 'history', '192.0.2.1'],
      ['audit', 'verify'],
      ['db', 'info'],
      ['rules', '--target', 'edge'],
      ['systemd'],
      ...['text', 'md', 'csv', 'json', 'html'].map((f) => [
        'report',
        '--format',
        f,
        '--output',
        join(dir.path, `report.${f}`),
      ]),
      ['report', '--format', 'json'],
      ['notify', 'test'],
      ['-v', '--json', 'notify', 'test'],
      ['status'],
    ];
    for (const args of commands) {
      const r = await run(args);
      expect(r.code, `dnsfence ${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(statSync(join(dir.path, 'report.html')).mode & 0o077).toBe(0);
    expect(statSync(join(dir.path, 'dnsfence.db')).mode & 0o077).toBe(0);
    expect(readFileSync(join(dir.path, 'report.csv'), 'utf8')).toContain('192.0.2.1');
    // The notifications went out (the sync's, and two tests), and their bodies were scanned too.
    expect(hook.received.length).toBeGreaterThanOrEqual(6);
  });

  it('notifications that cannot be delivered are worded without their URL, in logs, status, report and database', async () => {
    config();
    hook.answer = () => 500;
    const failed = await run(['-v', 'sync']);
    expect(failed.code).toBe(0);
    expect(failed.stderr).toMatch(
      /notify\[0\] webhook \(url_env HOOK_URL\): notification not delivered after 3 tries: HTTP 500/,
    );
    await hook.stop();
    expect((await run(['-v', 'notify', 'test'])).stdout).toMatch(/FAIL {2}notify\[1\] .*connection refused/);
    for (const args of [['status'], ['--json', 'status'], ['report'], ['report', '--format', 'json']])
      expect((await run(args)).code).toBeLessThanOrEqual(1);
  }, 60_000);

  it('wrong credentials, dropped connections and verbose errors name the target, not the secret', async () => {
    config(WRONG_PASSWORD);
    const wrong = await run(['-v', 'sync'], WRONG_SECRET);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/target edge: login as dnsfence .* failed/);
    expect(wrong.stderr).toMatch(/target opn: .*401/);
    config();
    ros.failNext(/print/, 'drop-mid-reply');
    opn.failNext(/./, 'drop');
    const dropped = await run(['-v', '--json', 'sync']);
    expect(dropped.code).toBe(1);
    expect((await run(['-v', 'check'], WRONG_SECRET)).code).toBe(1);
  });

  it('a watch that runs, fails and reloads prints no credential', async () => {
    config();
    const watcher = run(['--json', '-v', 'watch', '--min-interval', '1s']);
    await waitFor(() => ros.list('ip', 'web').length > 0, 10_000, 'the first sync');
    config(WRONG_PASSWORD);
    process.kill(watcher.pid, 'SIGHUP');
    zone.set('www.example.com', { a: ['192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 60 });
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(watcher.pid, 'SIGTERM');
    expect((await watcher).code).toBe(0);
  });

  it('a password file others can read is warned about, by key, without its content', async () => {
    config();
    chmodSync(join(dir.path, 'router.pw'), 0o644);
    const r = await run(['check', '--offline']);
    expect(r.stderr).toMatch(/targets\.edge\.password_file: .*router\.pw is readable by group or others/);
  });
});
