import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { faultCase, recordSecretScan } from './faults/campaign.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestZoneServer } from './fakes/dns.js';
import { FakeOpnsense } from './fakes/opnsense.js';
import { cli, selfSignedCert, startZone, tempDir, type CliRun } from './helpers.js';

const fault = faultCase('OPNsense');

let zone: TestZoneServer;
let dnsPort: number;
let dir: ReturnType<typeof tempDir>;
let certs: ReturnType<typeof selfSignedCert>;
let fingerprint: string;
let opn: FakeOpnsense;

beforeAll(async () => {
  ({
    zone,
    spec: { port: dnsPort },
  } = await startZone());
  const certDir = tempDir();
  certs = selfSignedCert(certDir.path);
  fingerprint = new X509Certificate(certs.cert).fingerprint256;
});

afterAll(() => zone.stop());

beforeEach(async () => {
  dir = tempDir();
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:DB8::1'], ttl: 60 });
  zone.set('api.example.com', { a: ['198.51.100.1'], ttl: 60 });
  opn = new FakeOpnsense();
  await opn.start(certs);
});

afterEach(async () => {
  await opn.stop();
  dir.cleanup();
});

function config(tls = `{ fingerprint: "${fingerprint}" }`, extra = ''): void {
  writeFileSync(
    join(dir.path, 'dnsfence.yaml'),
    `resolvers: ["127.0.0.1:${dnsPort}"]
resolve: { timeout: 2s, attempts: 1 }
retention: 1s
lists:
  web:
    names: [www.example.com]
  partner:
    names: [api.example.com]
    static: [203.0.113.7, "2001:db8:10::/64"]
targets:
  opn:
    type: opnsense
    url: ${opn.url}
    key_env: OPN_KEY
    secret_env: OPN_SECRET
    tls: ${tls}
    timeout: 2s
${extra}`,
  );
}

const env = () => ({ OPN_KEY: opn.key, OPN_SECRET: opn.secret });
const run = async (...args: string[]): Promise<CliRun> => {
  const r = await cli(['-c', join(dir.path, 'dnsfence.yaml'), ...args], { env: env() });
  // The API secret must never appear in anything dnsfence prints.
  expect(r.stdout + r.stderr).not.toContain(opn.secret);
  return r;
};
const content = (name: string) => opn.byName(name)?.content;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OPNsense adapter against a fake OPNsense', () => {
  it('first sync creates one host alias per list and reconfigures once; an unchanged second sync writes nothing', async () => {
    config();
    const first = await run('sync');
    expect(first.code).toBe(0);
    expect(content('web')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(content('partner')).toEqual(['198.51.100.1', '203.0.113.7']);
    expect(opn.byName('web')?.description).toMatch(/^dnsfence: list web/);
    expect(opn.byName('web')?.type).toBe('host');
    expect(opn.pf.get('web')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect([opn.writes, opn.reconfigures]).toEqual([2, 1]);

    const second = await run('sync');
    expect(second).toMatchObject({ code: 0, stdout: '' });
    expect([opn.writes, opn.reconfigures]).toEqual([2, 1]);
  });

  it('a DNS change is one set_item for that list and one reconfigure; expiry removes the old address', async () => {
    config();
    await run('sync');
    zone.set('www.example.com', { a: ['192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 60 });
    const changed = await run('sync');
    expect(changed.stdout).toContain('opn  web  + 192.0.2.2  www.example.com  (dns)');
    expect(opn.requests.filter((r) => /set_item/.test(r))).toHaveLength(1);
    expect([opn.writes, opn.reconfigures]).toEqual([3, 2]);
    await sleep(1100);
    const aged = await run('sync');
    // On a loaded machine the old address may already have aged out (retention 1s) in the sync before.
    expect(changed.stdout + aged.stdout).toContain('opn  web  - 192.0.2.1  www.example.com  (expired');
    expect(content('web')).toEqual(['192.0.2.2', '2001:db8::1']);
  });

  fault('repairs an alias edited by hand (drift)', async () => {
    config();
    await run('sync');
    const alias = opn.byName('partner')!;
    alias.content = ['198.51.100.1', '192.0.2.250'];
    opn.refresh();
    const r = await run('sync');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'opn  partner  + 203.0.113.7  static  (drift: missing on the target; restored)',
    );
    expect(r.stdout).toContain(
      'opn  partner  - 192.0.2.250  -  (drift: on the target, not placed by dnsfence)',
    );
    expect(content('partner')).toEqual(['198.51.100.1', '203.0.113.7']);
  });

  fault('refuses a foreign alias of the same name unless adopt: true', async () => {
    opn.addForeign('web', ['192.0.2.99']);
    config();
    const refused = await run('sync');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /target opn: alias web exists and was not created by dnsfence \(description "made by hand"\); .*adopt: true/,
    );
    expect(content('web')).toEqual(['192.0.2.99']);
    config(`{ fingerprint: "${fingerprint}" }\n    adopt: true`);
    const adopted = await run('sync');
    expect(adopted.code).toBe(0);
    expect(content('web')).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(opn.byName('web')?.description).toMatch(/^dnsfence/);
  });

  fault(
    'verifies the certificate: a CA file and a pinned fingerprint work; anything else is refused',
    async () => {
      config(`{ ca: ${certs.certFile} }`);
      expect((await run('sync')).code).toBe(0);
      config(`{ fingerprint: "${'AB:'.repeat(31)}CD" }`);
      const pinned = await run('sync');
      expect(pinned.code).toBe(1);
      expect(pinned.stderr).toMatch(
        /target opn: .*certificate fingerprint .* does not match the pinned AB:AB/,
      );
      config('{}');
      const untrusted = await run('sync');
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(
        /certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\); set tls\.ca or tls\.fingerprint/,
      );
      config('{ insecure: true }');
      const insecure = await run('sync');
      expect(insecure.code).toBe(0);
      expect(insecure.stderr).toMatch(/insecure: true turns off certificate verification/);
    },
  );

  fault('explains 401 and 403 in one line', async () => {
    config();
    const wrong = await cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync'], {
      env: { OPN_KEY: opn.key, OPN_SECRET: 'nope' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /target opn: GET \/api\/firewall\/alias\/get_alias_uuid\/web: authentication failed \(HTTP 401\)/,
    );
    opn.privileges.delete('page-firewall-alias-edit');
    const forbidden = await run('sync');
    expect(forbidden.stderr).toMatch(
      /forbidden \(HTTP 403\): the API user lacks the privilege "page-firewall-alias-edit"/,
    );
    const missing = await cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync'], { env: { OPN_KEY: opn.key } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/targets\.opn\.secret_env: environment variable OPN_SECRET is not set/);
  });

  fault(
    'a firewall that refuses the connection is one line naming the target, exit 1, and nothing recorded',
    async () => {
      config();
      expect((await run('sync')).code).toBe(0);
      await opn.stop();
      zone.set('www.example.com', { a: ['192.0.2.77'], ttl: 60 });
      const r = await run('sync');
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: target opn: .*refused/)]);
      const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
      expect(db.prepare("SELECT count(*) AS n FROM audit WHERE address = '192.0.2.77'").get()).toEqual({
        n: 0,
      });
      db.close();
    },
  );

  fault('an HTTP 500 on a write records nothing as applied; the next sync repairs', async () => {
    config();
    await run('sync');
    zone.set('www.example.com', { a: ['192.0.2.3'], aaaa: ['2001:db8::1'], ttl: 60 });
    opn.failNext(/set_item/, {
      status: 500,
      body: '{"errorMessage":"Unexpected error, check log for details"}',
    });
    const failed = await run('sync');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/HTTP 500: Unexpected error, check log for details/);
    const db = new Database(join(dir.path, 'dnsfence.db'), { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM audit WHERE address = '192.0.2.3'").get()).toEqual({ n: 0 });
    db.close();
    const repaired = await run('sync');
    expect(repaired.code).toBe(0);
    expect(content('web')).toContain('192.0.2.3');
  });

  fault('shows OPNsense validation answers field by field', async () => {
    config();
    opn.failNext(/add_item/, {
      status: 200,
      body: '{"result":"failed","validations":{"alias.name":"An alias with this name already exists.","alias.content":"Entry \\"x\\" is not a valid hostname, IP address or range."}}',
    });
    const r = await run('sync');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'alias web: OPNsense refused the change (alias.name: An alias with this name already exists.; alias.content: Entry "x" is not a valid hostname, IP address or range.)',
    );
    // The other list was still written: one refusal does not stop the rest.
    expect(content('partner')).toEqual(['198.51.100.1', '203.0.113.7']);
  });

  fault('malformed JSON, a dropped connection and a stalled server are clear errors', async () => {
    config();
    opn.failNext(/get_alias_uuid\/web/, { status: 200, body: '<html>proxy error</html>' });
    expect((await run('sync')).stderr).toMatch(/HTTP 200 with invalid JSON \(<html>proxy error<\/html>\)/);
    opn.failNext(/get_alias_uuid\/web/, 'drop');
    expect((await run('sync')).stderr).toMatch(
      /target opn: GET .*: (connection dropped|other side closed|socket hang up)/i,
    );
    opn.failNext(/get_alias_uuid\/web/, 'hang');
    const stalled = await run('sync');
    expect(stalled.code).toBe(1);
    expect(stalled.stderr).toMatch(/no answer within 2000 ms/);
  });

  fault(
    'says "saved, pf refresh pending" when OPNsense skips the refresh, and finishes it on the next sync',
    async () => {
      config();
      opn.skipRefresh = true;
      const first = await run('sync');
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/alias web saved, pf refresh pending/);
      expect(opn.pf.get('web')).toBeUndefined();
      opn.skipRefresh = false;
      // The refresh still to come is in the plan, and the sync then does exactly that.
      const plan = await run('plan');
      expect(plan.stdout).toContain(
        'opn  reload pf table of alias web: its saved content is not active yet\n',
      );
      expect(opn.reconfigures).toBe(1);
      const second = await run('sync');
      expect(second.code).toBe(0);
      expect(second.stderr).toBe('');
      expect(second.stdout).toBe(plan.stdout);
      expect(opn.reconfigures).toBe(2);
      expect(opn.pf.get('web')).toEqual(['192.0.2.1', '2001:db8::1']);
      const third = await run('sync');
      expect(opn.reconfigures).toBe(2);
      expect(third.stdout).toBe('');
    },
  );

  it('leaves prefixes out of host aliases and says so in plan', async () => {
    config();
    const plan = await run('plan');
    expect(plan.stderr).toMatch(
      /opn\/partner: 2001:db8:10::\/64 cannot be held by an opnsense target; left out/,
    );
    expect(plan.stdout).not.toContain('2001:db8:10::/64');
  });

  fault('check names a list name OPNsense would refuse before any sync tries it', async () => {
    config(`{ fingerprint: "${fingerprint}" }\n    lists: { web: ntp }`);
    const r = await run('check');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL\s+target opn: list web: OPNsense refuses the alias name "ntp" is a service or protocol name/,
    );
    config();
    const ok = await run('check');
    expect(ok.stdout).toMatch(
      /ok\s+target opn: authenticated; aliases: web \(created on first sync\), partner \(created on first sync\)/,
    );
    expect(opn.writes).toBe(0);
  });

  it('reads the key file OPNsense offers for download', async () => {
    writeFileSync(dir.secretFile('apikey.txt'), `key=${opn.key}\nsecret=${opn.secret}\n`, { mode: 0o644 });
    config();
    const text = readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8').replace(
      /key_env: OPN_KEY\n\s+secret_env: OPN_SECRET/,
      `api_key_file: apikey.txt`,
    );
    writeFileSync(join(dir.path, 'dnsfence.yaml'), text);
    const r = await cli(['-c', join(dir.path, 'dnsfence.yaml'), 'sync']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/targets\.opn\.api_key_file: .*apikey\.txt is readable by group or others/);
    expect(r.stdout + r.stderr).not.toContain(opn.secret);
  });
});

afterAll(() => recordSecretScan('OPNsense suite'));
