import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import { cli, cliProcess, registerSecret, selfSignedCert, startZone, tempDir, waitFor } from './helpers.js';

// `dnsfence serve` as an admin runs it, over real HTTPS with a self-signed certificate, polled by
// curl the way a firewall polls a feed; the CLI's every output and every file left behind are
// scanned for the users' secrets.

const SECRET = registerSecret('feed-secret-3b9e71d0');
const OTHER_SECRET = registerSecret('other-feed-secret-c4a2');
const execFileAsync = promisify(execFile);

let zone: TestZoneServer;
let dnsPort: number;
let dir: ReturnType<typeof tempDir>;
let certs: ReturnType<typeof selfSignedCert>;
let serving: ReturnType<typeof cliProcess> | undefined;
let base: string;

beforeAll(async () => {
  ({
    zone,
    spec: { port: dnsPort },
  } = await startZone());
});
afterAll(() => zone.stop());

beforeEach(() => {
  dir = tempDir();
  certs = selfSignedCert(dir.path);
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'], ttl: 60 });
  zone.set('api.example.com', { a: ['198.51.100.2', '198.51.100.1'], ttl: 60 });
  zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60 });
  const users = dir.secretFile('feed-users');
  writeFileSync(users, `# who polls\npa-fw1:${SECRET}\nforti:${OTHER_SECRET}\n`, { mode: 0o600 });
  chmodSync(users, 0o600);
});

afterEach(async () => {
  if (serving) {
    serving.signal('SIGTERM');
    await serving.done;
    serving = undefined;
  }
  dir.cleanup();
});

function configure(serve = '', lists = '  web:\n    names: [www.example.com, api.example.com]\n'): string {
  const file = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    file,
    `resolvers: ["127.0.0.1:${dnsPort}"]
resolve: { timeout: 3s, attempts: 1 }
lists:
${lists}targets:
  feeds: { type: feed }
  export: { type: file, dir: lists }
serve:
  listen: "127.0.0.1:0"
  tls: { cert_file: cert.pem, key_file: key.pem }
  users_file: feed-users
${serve}`,
  );
  return file;
}

const run = (...args: string[]) => cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);

async function serve(...args: string[]): Promise<void> {
  serving = cliProcess(['-c', join(dir.path, 'dnsfence.yaml'), ...args]);
  const m = await serving.line(/answering on (https?:\/\/\S+):/);
  base = m[1] as string;
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request as a polling firewall makes it, with curl: credentials of pa-fw1 unless told otherwise. */
async function poll(
  path: string,
  opts: { auth?: string | false; headers?: Record<string, string>; head?: boolean; method?: string } = {},
): Promise<Response> {
  const args = ['-sS', '-i', '--cacert', certs.certFile];
  if (opts.auth !== false) args.push('-u', opts.auth ?? `pa-fw1:${SECRET}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (opts.head) args.push('-I');
  if (opts.method) args.push('-X', opts.method);
  const { stdout } = await execFileAsync('curl', [...args, `${base}${path}`]);
  const split = stdout.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = stdout.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: stdout.slice(split + 4) };
}

const WEB = '192.0.2.1\n198.51.100.1\n198.51.100.2\n2001:db8::1\n';

describe('serve: a feed as a polling firewall gets it', () => {
  it('exactly the list, IPv4 then IPv6, with its ETag and the time of the push; one family each', async () => {
    configure();
    expect((await run('sync')).code).toBe(0);
    await serve('serve');
    const r = await poll('/feeds/feeds/web.txt');
    expect(r.status).toBe(200);
    expect(r.body).toBe(WEB);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(WEB)));
    expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const pushedAt = Date.parse(
      execFileSync(
        'sqlite3',
        [join(dir.path, 'dnsfence.db'), "SELECT published_at FROM feed_content WHERE list = 'web'"],
        {
          encoding: 'utf8',
        },
      ).trim(),
    );
    expect(r.headers['last-modified']).toBe(new Date(Math.floor(pushedAt / 1000) * 1000).toUTCString());
    expect((await poll('/feeds/feeds/web.v4.txt')).body).toBe('192.0.2.1\n198.51.100.1\n198.51.100.2\n');
    expect((await poll('/feeds/feeds/web.v6.txt')).body).toBe('2001:db8::1\n');
  });

  it('304 for the version it holds (If-None-Match, If-Modified-Since), 200 for another; HEAD without a body', async () => {
    configure();
    await run('sync');
    await serve('serve');
    const first = await poll('/feeds/feeds/web.txt');
    const etag = first.headers.etag as string;
    const held = await poll('/feeds/feeds/web.txt', { headers: { 'If-None-Match': etag } });
    expect(held).toMatchObject({ status: 304, body: '' });
    expect(held.headers.etag).toBe(etag);
    expect(
      (await poll('/feeds/feeds/web.txt', { headers: { 'If-None-Match': `"other", W/${etag}` } })).status,
    ).toBe(304);
    expect((await poll('/feeds/feeds/web.txt', { headers: { 'If-None-Match': '"other"' } })).status).toBe(
      200,
    );
    const lastModified = first.headers['last-modified'] as string;
    expect(
      (await poll('/feeds/feeds/web.txt', { headers: { 'If-Modified-Since': lastModified } })).status,
    ).toBe(304);
    const before = new Date(Date.parse(lastModified) - 1000).toUTCString();
    expect((await poll('/feeds/feeds/web.txt', { headers: { 'If-Modified-Since': before } })).status).toBe(
      200,
    );
    // If-None-Match decides when both are sent.
    expect(
      (
        await poll('/feeds/feeds/web.txt', {
          headers: { 'If-None-Match': '"other"', 'If-Modified-Since': lastModified },
        })
      ).status,
    ).toBe(200);
    const head = await poll('/feeds/feeds/web.txt', { head: true });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(first.headers['content-length']);
    expect(head.headers.etag).toBe(etag);
  });

  it('a list that is empty on purpose is an empty 200; an empty family too', async () => {
    zone.set('v4only.example.com', { a: ['192.0.2.7'], ttl: 60 });
    zone.set('gone.example.com', { behaviour: 'nxdomain' });
    configure('', '  web:\n    names: [v4only.example.com]\n  quiet:\n    names: [gone.example.com]\n');
    await run('sync');
    await serve('serve');
    expect(await poll('/feeds/feeds/quiet.txt')).toMatchObject({ status: 200, body: '' });
    const v6 = await poll('/feeds/feeds/web.v6.txt');
    expect(v6).toMatchObject({ status: 200, body: '' });
    expect(v6.headers['content-length']).toBe('0');
  });

  it('new content after a sync, without a restart: the ETag it held gets the new list', async () => {
    configure();
    await run('sync');
    await serve('serve');
    const old = await poll('/feeds/feeds/web.txt');
    zone.set('www.example.com', { a: ['192.0.2.5'], aaaa: ['2001:db8::1'], ttl: 60 });
    await run('sync');
    let r: Response = old;
    // serve asks the database at most four times a second whether a push changed anything.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      r = await poll('/feeds/feeds/web.txt', { headers: { 'If-None-Match': old.headers.etag as string } });
      if (r.status === 200) break;
    }
    expect(r.status).toBe(200);
    expect(r.body).toBe('192.0.2.1\n192.0.2.5\n198.51.100.1\n198.51.100.2\n2001:db8::1\n');
    expect(r.headers.etag).not.toBe(old.headers.etag);
  });
});

describe('serve: who may fetch', () => {
  it('401 with WWW-Authenticate Basic without credentials, with a wrong secret or an unknown user', async () => {
    configure();
    await run('sync');
    await serve('serve');
    for (const auth of [false, `pa-fw1:${OTHER_SECRET}`, `nobody:${SECRET}`, 'pa-fw1:'] as const) {
      const r = await poll('/feeds/feeds/web.txt', { auth });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="dnsfence", charset="UTF-8"');
      expect(r.body).not.toContain('198.51.100');
    }
    expect((await poll('/feeds/feeds/web.txt', { auth: `forti:${OTHER_SECRET}` })).status).toBe(200);
    for (const path of ['/', '/metrics']) expect((await poll(path, { auth: false })).status).toBe(401);
    // /healthz is for monitoring: no credentials.
    expect((await poll('/healthz', { auth: false })).status).toBe(200);
  });

  it('403 for a client outside clients, before any credentials are looked at', async () => {
    configure('  clients: [192.0.2.0/24, "2001:db8::/32"]\n');
    await run('sync');
    await serve('serve');
    expect((await poll('/feeds/feeds/web.txt')).status).toBe(403);
    const r = await poll('/feeds/feeds/web.txt', { auth: false });
    expect(r.status).toBe(403);
    expect(r.headers['www-authenticate']).toBeUndefined();
    expect((await poll('/healthz', { auth: false })).status).toBe(403);
  });

  it('404 for an unknown list or target, and for a target that is not a feed; 405 for other methods', async () => {
    configure();
    await run('sync');
    await serve('serve');
    for (const path of [
      '/feeds/feeds/nope.txt',
      '/feeds/nope/web.txt',
      '/feeds/export/web.txt',
      '/nope',
      '/feeds/feeds/web',
    ])
      expect([path, (await poll(path)).status]).toEqual([path, 404]);
    const post = await poll('/feeds/feeds/web.txt', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('a users file others can read is warned about; a bad line is named by its number, never shown', async () => {
    configure();
    chmodSync(join(dir.path, 'feed-users'), 0o644);
    await run('sync');
    await serve('serve');
    expect(serving?.stderr()).toMatch(
      /serve\.users_file: .*feed-users is readable by group or others \(mode 644\); chmod 600 it/,
    );
    serving?.signal('SIGTERM');
    await serving?.done;
    serving = undefined;
    writeFileSync(join(dir.path, 'feed-users'), `pa-fw1:${SECRET}\n${SECRET}\n`, { mode: 0o600 });
    const r = await run('serve');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/serve\.users_file: .*feed-users line 2: not user:secret/);
  });

  it('without a users file and on a public address without TLS: both are warned about', async () => {
    const file = configure();
    writeFileSync(
      file,
      `lists:\n  web:\n    static: [192.0.2.1]\ntargets:\n  feeds: { type: feed }\nserve:\n  listen: "0.0.0.0:0"\n`,
    );
    await run('sync');
    serving = cliProcess(['-c', file, 'serve']);
    await serving.line(/answering on/);
    expect(serving.stderr()).toMatch(/warn: serve: plain HTTP on 0\.0\.0\.0:0: .* configure serve\.tls/);
    expect(serving.stderr()).toMatch(/warn: serve: no serve\.users_file: anyone who can connect reads/);
  });
});

describe('serve: faults of dnsfence never cost a poller its list', () => {
  it('a configured list never published is 503 with Retry-After, not an empty list; SIGHUP reads the configuration again', async () => {
    configure();
    await run('sync');
    await serve('serve');
    expect((await poll('/feeds/feeds/later.txt')).status).toBe(404);
    configure(
      '',
      '  web:\n    names: [www.example.com, api.example.com]\n  later:\n    static: [192.0.2.99]\n',
    );
    serving?.signal('SIGHUP');
    await serving?.line(/serve: reloaded: .*\/feeds\/feeds\/later\.txt/);
    const r = await poll('/feeds/feeds/later.txt');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('60');
    expect(r.body).not.toMatch(/^\d/m);
    await run('sync');
    let published: Response = r;
    for (const deadline = Date.now() + 5000; published.status !== 200 && Date.now() < deadline;)
      published = await poll('/feeds/feeds/later.txt');
    expect(published.body).toBe('192.0.2.99\n');
  });

  it('keeps answering while a sync holds the lock and writes, and while another connection holds the write lock', async () => {
    configure('', '  web:\n    names: [www.example.com, slow.example.com]\n');
    await run('sync');
    await serve('serve');
    zone.set('slow.example.com', { a: ['203.0.113.9'], ttl: 60, delayMs: 2500 });
    const syncing = run('sync');
    await waitFor(() => existsSync(join(dir.path, 'dnsfence.db.lock')), 5000, 'the lock file');
    const during = await poll('/feeds/feeds/web.txt');
    expect(during.status).toBe(200);
    expect(during.body).toBe('192.0.2.1\n203.0.113.9\n2001:db8::1\n');
    expect((await syncing).code).toBe(0);

    const db = new Database(join(dir.path, 'dnsfence.db'));
    db.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 0; i < 3; i++) expect((await poll('/feeds/feeds/web.txt')).status).toBe(200);
    } finally {
      db.exec('COMMIT');
    }
    const fetches = () => db.prepare('SELECT count(*) FROM feed_fetches').pluck().get() as number;
    // The fetch records waited for the lock and are written with the next batch.
    await waitFor(() => fetches() >= 4, 5000, 'the fetch records');
    db.close();
  });

  it('the database replaced by garbage, or overwritten in place: the last content, 200, the fault logged once', async () => {
    configure();
    await run('sync');
    await serve('serve');
    const good = await poll('/feeds/feeds/web.txt');
    expect((await poll('/')).status).toBe(200);
    const path = join(dir.path, 'dnsfence.db');
    execFileSync('sqlite3', [path, `VACUUM INTO '${join(dir.path, 'copy.db')}'`]);
    writeFileSync(join(dir.path, 'garbage'), randomBytes(64 * 1024));
    renameSync(join(dir.path, 'garbage'), path);
    for (let i = 0; i < 4; i++) {
      const r = await poll('/feeds/feeds/web.txt');
      expect([r.status, r.body, r.headers.etag]).toEqual([200, good.body, good.headers.etag]);
      expect(
        (await poll('/feeds/feeds/web.txt', { headers: { 'If-None-Match': good.headers.etag as string } }))
          .status,
      ).toBe(304);
      await new Promise((r) => setTimeout(r, 300));
    }
    const faults = () =>
      (serving?.stderr().match(/warn: serve: .*dnsfence\.db: .*answering with what was read last/g) ?? [])
        .length;
    expect(faults()).toBe(1);
    // The status page, too, is the last one that could be made, saying why.
    const page = await poll('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('The database cannot be read since');
    expect((await poll('/healthz', { auth: false })).status).toBe(503);

    renameSync(join(dir.path, 'copy.db'), path);
    for (
      const deadline = Date.now() + 5000;
      Date.now() < deadline && !/can be read again/.test(serving?.stderr() ?? '');
    )
      await poll('/feeds/feeds/web.txt');
    expect(serving?.stderr()).toMatch(/dnsfence\.db can be read again/);
    writeFileSync(path, randomBytes(64 * 1024));
    for (let i = 0; i < 3; i++) {
      const r = await poll('/feeds/feeds/web.txt');
      expect([r.status, r.body]).toEqual([200, good.body]);
      await new Promise((r) => setTimeout(r, 300));
    }
  });
});

describe('check with serve:', () => {
  it('reads the users file and the certificate as serve would, and says where it listens', async () => {
    const file = configure();
    const ok = await run('check', '--offline');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^ok {4}serve: listens on 127\.0\.0\.1:0, HTTPS with \S+cert\.pem, 2 user\(s\), any client$/m,
    );
    writeFileSync(file, readFileSync(file, 'utf8').replace('feed-users', 'missing-users'));
    const missing = await run('check', '--offline');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(
      /^FAIL {2}serve: serve\.users_file: cannot read \S+missing-users: no such file or directory \(ENOENT\)$/m,
    );
  });
});

describe('serve: TLS', () => {
  it('presents the certificate of cert_file, and a new one after SIGHUP', async () => {
    configure();
    await run('sync');
    await serve('serve');
    const port = Number(new URL(base).port);
    const presented = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
    expect(await presented()).toBe(new X509Certificate(certs.cert).fingerprint256);
    const next = join(dir.path, 'next');
    mkdirSync(next);
    const renewed = selfSignedCert(next);
    copyFileSync(join(next, 'cert.pem'), join(dir.path, 'cert.pem'));
    copyFileSync(join(next, 'key.pem'), join(dir.path, 'key.pem'));
    serving?.signal('SIGHUP');
    await serving?.line(/serve: reloaded/);
    expect(await presented()).toBe(new X509Certificate(renewed.cert).fingerprint256);
    certs = renewed;
    expect((await poll('/feeds/feeds/web.txt')).status).toBe(200);
  });

  it('a certificate it cannot read is a configuration error naming the key and file', async () => {
    const file = configure();
    writeFileSync(file, readFileSync(file, 'utf8').replace('cert.pem', 'missing.pem'));
    const r = await run('serve');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /serve\.tls\.cert_file: cannot read .*missing\.pem: no such file or directory \(ENOENT\)/,
    );
  });
});

describe('serve: fetches, metrics, health', () => {
  it('records every fetch; report shows who holds which version, in every format', async () => {
    configure();
    await run('sync');
    await serve('serve');
    await poll('/feeds/feeds/web.txt');
    const v4 = await poll('/feeds/feeds/web.v4.txt', { auth: `forti:${OTHER_SECRET}` });
    await poll('/feeds/feeds/web.v4.txt', {
      auth: `forti:${OTHER_SECRET}`,
      headers: { 'If-None-Match': v4.headers.etag as string },
    });
    await poll('/feeds/feeds/web.txt', { auth: false });
    serving?.signal('SIGTERM');
    await serving?.done;
    serving = undefined;
    const rows = execFileSync(
      'sqlite3',
      [
        join(dir.path, 'dnsfence.db'),
        'SELECT client, user, target, list, file, etag, status FROM feed_fetches ORDER BY at, id',
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(rows.split('\n').map((l) => l.replace(/"[0-9a-f]{32}"/, 'E'))).toEqual([
      '127.0.0.1|pa-fw1|feeds|web|web.txt|E|200',
      '127.0.0.1|forti|feeds|web|web.v4.txt|E|200',
      '127.0.0.1|forti|feeds|web|web.v4.txt|E|304',
      '127.0.0.1||feeds|web|web.txt||401',
    ]);
    const json = JSON.parse((await run('report', '--format', 'json')).stdout) as {
      feeds: {
        targets: string[];
        consumers: {
          client: string;
          user: string | null;
          file: string;
          holds: string | null;
          current: boolean | null;
          lastStatus: number;
        }[];
      };
    };
    expect(json.feeds.targets).toEqual(['feeds']);
    expect(json.feeds.consumers).toEqual([
      expect.objectContaining({
        client: '127.0.0.1',
        user: null,
        file: 'web.txt',
        holds: null,
        lastStatus: 401,
      }),
      expect.objectContaining({
        client: '127.0.0.1',
        user: 'pa-fw1',
        file: 'web.txt',
        holds: expect.stringMatching(/^"/),
        current: true,
      }),
      expect.objectContaining({
        client: '127.0.0.1',
        user: 'forti',
        file: 'web.v4.txt',
        current: true,
        lastStatus: 304,
      }),
    ]);
    const text = (await run('report')).stdout;
    expect(text).toMatch(
      /feed consumers +3 consumers, 1 REFUSED at the last fetch: 127\.0\.0\.1 on feeds\/web\.txt/,
    );
    expect(text).toMatch(/127\.0\.0\.1 \(user pa-fw1\) +feeds\/web\.txt +"[0-9a-f]{32}" \(current\)/);
    expect(text).toMatch(
      /^ {2}127\.0\.0\.1 +feeds\/web\.txt +nothing yet +\S+ \S+ \(401\) +REFUSED \(401\): /m,
    );
    expect((await run('report', '--format', 'md')).stdout).toMatch(
      /\| 127\.0\.0\.1 \(user forti\) \| feeds\/web\.v4\.txt \| "[0-9a-f]{32}" \(current\) \|/,
    );
    expect((await run('report', '--format', 'html')).stdout).toContain(
      '<h2>Feed consumers: who fetched which version last</h2>',
    );
    expect((await run('report', '--format', 'csv')).stdout).not.toContain('pa-fw1');
    const pruned = await run('db', 'prune', '--older-than', '7d');
    expect(pruned.stdout).toMatch(/, 0 feed fetches, 0 learned names;/);
  });

  it('/metrics: the metrics of --metrics-file, and fetches per feed and consumer', async () => {
    configure();
    await run('sync');
    await serve('serve');
    await poll('/feeds/feeds/web.txt');
    await poll('/feeds/feeds/web.txt', { auth: false });
    const m = await poll('/metrics');
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(m.body).toMatch(/^dnsfence_last_run_exit_code 0$/m);
    expect(m.body).toMatch(/^dnsfence_list_addresses\{target="feeds",list="web"\} 4$/m);
    expect(m.body).toMatch(/^dnsfence_feed_fetches_total\{target="feeds",file="web\.txt",status="200"\} 1$/m);
    expect(m.body).toMatch(/^dnsfence_feed_fetches_total\{target="feeds",file="web\.txt",status="401"\} 1$/m);
    expect(m.body).toMatch(
      /^dnsfence_feed_consumer_fetches_total\{target="feeds",file="web\.txt",client="127\.0\.0\.1",user="pa-fw1"\} 1$/m,
    );
    expect(m.body).toMatch(/^dnsfence_feed_addresses\{target="feeds",file="web\.v4\.txt"\} 3$/m);
    expect(m.body).toMatch(/^dnsfence_serve_database_readable 1$/m);
  });

  it('/healthz: 200 while the last run finished within healthy_within, 503 after, and before any run', async () => {
    configure('  healthy_within: 2s\n');
    await serve('serve');
    const none = await poll('/healthz', { auth: false });
    expect(none).toMatchObject({ status: 503 });
    expect(none.body).toMatch(/no run has finished yet|cannot be read/);
    await run('sync');
    const ok = await poll('/healthz', { auth: false });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^ok: run #1 \(sync, ok\) finished /);
    await new Promise((r) => setTimeout(r, 2500));
    const stale = await poll('/healthz', { auth: false });
    expect(stale.status).toBe(503);
    expect(stale.body).toMatch(/more than 2s/);
  });

  it('watch with serve: configured answers the feeds it syncs, and stops with it', async () => {
    configure();
    serving = cliProcess(['-c', join(dir.path, 'dnsfence.yaml'), 'watch', '--drift-interval', '1h']);
    base = (await serving.line(/answering on (https?:\/\/\S+):/))[1] as string;
    let r: Response | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      r = await poll('/feeds/feeds/web.txt');
      if (r.status === 200) break;
      await new Promise((s) => setTimeout(s, 100));
    }
    expect(r?.body).toBe(WEB);
    serving.signal('SIGTERM');
    expect((await serving.done).code).toBe(0);
    serving = undefined;
  });
});
