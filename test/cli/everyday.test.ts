import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TestZoneServer } from '../fakes/dns.js';
import { systemResolvers } from '../../src/config/resolver-spec.js';
import { BIN, cli, selfSignedCert, startDoh } from '../helpers.js';

import { dir, port, run, sync, useCliWorld, writeConfig, zone } from './world.js';

useCliWorld();

describe('everyday commands', () => {
  it('init writes a starter file check --offline accepts, and never overwrites it', async () => {
    const path = join(dir.path, 'new.yaml');
    expect((await cli(['-c', path, 'init', '--profile', 'intra2net'])).code).toBe(0);
    const check = await cli(['-c', path, 'check', '--offline']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/ok\s+config: .* 4 list\(s\)/);
    // The profile's note on the empty wildcard list is said once, as the configuration's warning.
    expect(check.stderr.match(/\*\.avcloud\.intra2net\.com is a wildcard/g)).toHaveLength(1);
    expect(check.stdout).not.toMatch(/is a wildcard/);
    const again = await cli(['-c', path, 'init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; use --force/);
  });

  it('a configuration with targets but no lists yet syncs nothing and exits 0', async () => {
    const path = join(dir.path, 'empty.yaml');
    writeFileSync(
      path,
      // The resolver is named so the test does not depend on /etc/resolv.conf; nothing is asked.
      `database: ${join(dir.path, 'empty.db')}\nresolvers: ["127.0.0.1:9"]\ntargets:\n  out: { type: file, dir: lists }\n`,
    );
    const r = await cli(['-c', path, 'sync']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('check tries each resolver and target', async () => {
    writeConfig();
    const r = await run('check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`ok\\s+resolver 127\\.0\\.0\\.1:${port}: www\\.example\\.com A: answer`),
    );
    expect(r.stdout).toMatch(/ok\s+target local: table inet e2e\d+ does not exist yet/);
  });

  it('a misspelt name: check warns about it, sync says so once per run and still exits 0', async () => {
    writeConfig('', '  web:\n    names: [www.example.com, wwww.example.com]\n');
    const check = await run('check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(
      'warn  name wwww.example.com (list web): NXDOMAIN for A, NXDOMAIN for AAAA: no address; a typo, or a retired host? (a sync keeps asking)',
    );
    expect(check.stdout).toContain('warn  names: 1 of 2 resolve to at least one address');
    expect(check.stdout).not.toMatch(/name www\.example\.com/);
    for (let i = 0; i < 2; i++) {
      const r = await sync();
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        'warn: wwww.example.com: no address (NXDOMAIN for A, NXDOMAIN for AAAA); a typo, or a retired host? Its earlier addresses leave through retention\n',
      );
    }
  });

  it('resolve prints answers with TTLs and records nothing', async () => {
    writeConfig();
    const r = await run('resolve', 'www.example.com');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`www.example.com  A     192.0.2.1  ttl 60  @127.0.0.1:${port}`);
    expect(existsSync(join(dir.path, 'dnsfence.db'))).toBe(false);
  });

  it('writes all of a long output into a pipe before it exits, however late its reader reads', async () => {
    // Far more than a pipe buffers (64 KiB on Linux), into a real pipe whose reader starts after
    // a second, as `| less` or a cron job's mail capture may: whatever the pipe did not take at
    // once must still go out before the process ends.
    const names = Array.from({ length: 2000 }, (_, i) => `bulk${i}.example.com`);
    for (const [i, name] of names.entries()) zone.set(name, { a: [`198.51.100.${(i % 250) + 1}`], ttl: 60 });
    const config = writeConfig();
    const { stdout } = await promisify(execFile)(
      'sh',
      ['-c', '"$@" | { sleep 1; cat; }', 'sh', process.execPath, BIN, '-c', config, 'resolve', ...names],
      { maxBuffer: 16 * 2 ** 20 },
    );
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(4000);
    expect(lines.at(-1)).toMatch(/^bulk1999\.example\.com {2}AAAA {2}NODATA/);
  });

  it('profile show prints the Intra2net lists and ports', async () => {
    const r = await cli(['profile', 'show', 'intra2net']);
    expect(r.stdout).toMatch(/i2n_ntp\s+UDP 123\s+retention 7d/);
    expect(r.stdout).toMatch(/i2n_support\s+TCP 5000-5050/);
    expect(r.stdout).toMatch(/inbound\s+UDP 500, UDP 4500/);
  });

  it('demo runs offline and ends with a verified report', async () => {
    const r = await cli(['demo'], { env: { TMPDIR: dir.path } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit chain\s+verified/);
    expect(r.stdout).toMatch(/- 192\.0\.2\.10 .*expired/);
    // A firewall polls the feed target's list, and the report names it with the version it holds.
    expect(r.stdout).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/feeds\/polled\/i2n_https\.txt \(HTTP Basic, user firewall\)\n {2}HTTP\/1\.1 200 OK\n/,
    );
    expect(r.stdout).toMatch(/^ {2}HTTP\/1\.1 304 Not Modified$/m);
    expect(r.stdout).toMatch(
      /^ {2}127\.0\.0\.1 \(user firewall\) +polled\/i2n_https\.txt +"[0-9a-f]{32}" \(current\) /m,
    );
    const scratch = readdirSync(dir.path).find((f) => f.startsWith('dnsfence-demo-')) as string;
    const secret = readFileSync(join(dir.path, scratch, 'feed-users'), 'utf8')
      .trim()
      .split(':')[1] as string;
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
    // The forwarder's round: the list file held the learned name's address when the answer came.
    expect(r.stdout).toContain('lists/i2n_avcloud.txt held 203.0.113.44 the moment the answer arrived');
    expect(r.stdout).toMatch(
      /export {2}i2n_avcloud {2}\+ 203\.0\.113\.44 {2}x7\.avcloud\.intra2net\.com {2}\(dns: /,
    );
    expect(r.stdout).toMatch(/^names learned +x7\.avcloud\.intra2net\.com$/m);
  });
  it('a command whose reader has gone runs to its end and exits 0', async () => {
    // `dnsfence demo | head -1`, with a reader that has closed its end before the first line:
    // every write, to stdout and stderr alike, fails with EPIPE. The demo writes as it goes.
    const rc = join(dir.path, 'rc');
    await promisify(execFile)(
      'sh',
      ['-c', '{ "$@" 2>&1; echo $? > "$0"; } | { exec <&-; sleep 1; }', rc, process.execPath, BIN, 'demo'],
      {
        env: { ...process.env, TMPDIR: dir.path },
      },
    );
    expect(readFileSync(rc, 'utf8')).toBe('0\n');
    // It ran every round: the last one lets 192.0.2.10 expire.
    const scratch = readdirSync(dir.path).find((f) => f.startsWith('dnsfence-demo-')) as string;
    const list = readFileSync(join(dir.path, scratch, 'lists', 'i2n_https.txt'), 'utf8');
    expect(list).toContain('192.0.2.11\n');
    expect(list).not.toContain('192.0.2.10\n');
    expect((await cli(['-c', join(dir.path, scratch, 'dnsfence.yaml'), 'audit', 'verify'])).code).toBe(0);
  });
});

describe('resolvers reached in other ways', () => {
  it('resolves over DNS over HTTPS, verifying the server certificate', async () => {
    const cert = selfSignedCert(dir.path);
    const doh = await startDoh(zone, cert);
    try {
      writeFileSync(
        join(dir.path, 'doh.yaml'),
        `resolvers: ["${doh.url}"]\nlists:\n  web:\n    names: [www.example.com]\n`,
      );
      const trusted = await cli(['-c', join(dir.path, 'doh.yaml'), 'resolve'], {
        env: { NODE_EXTRA_CA_CERTS: cert.certFile },
      });
      expect(trusted.code).toBe(0);
      expect(trusted.stdout).toContain(`www.example.com  A     192.0.2.1  ttl 60  @${doh.url}`);
      const untrusted = await cli(['-c', join(dir.path, 'doh.yaml'), 'resolve']);
      expect(untrusted.code).toBe(3);
      expect(untrusted.stdout).toMatch(
        /www\.example\.com {2}A {5}REFUSED \(certificate of https:.* not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT.*set resolver_tls\.ca/,
      );
    } finally {
      await doh.close();
    }
  });

  it('asks a resolver on an IPv6 address', async () => {
    const v6 = new TestZoneServer();
    const p = await v6.start('::1');
    v6.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] });
    try {
      writeFileSync(
        join(dir.path, 'v6.yaml'),
        `resolvers: ["[::1]:${p}"]\nlists:\n  web:\n    names: [www.example.com]\n`,
      );
      const r = await cli(['-c', join(dir.path, 'v6.yaml'), 'resolve']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`www.example.com  AAAA  2001:db8::1  ttl 300  @[::1]:${p}`);
    } finally {
      await v6.stop();
    }
  });

  it('uses the nameservers of /etc/resolv.conf when none are configured', () => {
    const file = join(dir.path, 'resolv.conf');
    writeFileSync(
      file,
      '# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver 2001:db8::53\noptions edns0\n',
    );
    expect(systemResolvers(file).map((s) => s.label)).toEqual(['127.0.0.53', '[fe80::1]', '[2001:db8::53]']);
  });
});
