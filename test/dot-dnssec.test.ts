import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Resolver } from '../src/resolver/resolver.js';
import { parseResolver, type ResolverSpec, type ResolverTrust } from '../src/config/resolver-spec.js';
import { cli, startKnot, startUnbound, tempDir } from './helpers.js';

// A real DNS over TLS server and a real validating resolver: Knot DNS serves and signs the zones,
// Unbound validates them against the signed zone's DS and serves DNS over TLS with a certificate
// from a CA made here.

let knot: Awaited<ReturnType<typeof startKnot>>;
let unbound: Awaited<ReturnType<typeof startUnbound>>;
let dir: ReturnType<typeof tempDir>;
/** The CA that signed Unbound's certificate, for dns.test only (no address in it). */
let caFile: string;
/** Another CA, which signed nothing Unbound shows. */
let otherCaFile: string;
/** SHA-256 fingerprint of Unbound's certificate, as openssl prints it. */
let fingerprint: string;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(name: string): { cert: string; key: string } {
  const cert = join(dir.path, `${name}.pem`);
  const key = join(dir.path, `${name}.key`);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=dnsfence test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

beforeAll(async () => {
  dir = tempDir();
  const ca = makeCa('ca');
  caFile = ca.cert;
  otherCaFile = makeCa('other-ca').cert;
  const keyFile = join(dir.path, 'server.key');
  const certFile = join(dir.path, 'server.pem');
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=dns.test',
    '-keyout',
    keyFile,
    '-out',
    join(dir.path, 'server.csr'),
  ]);
  writeFileSync(join(dir.path, 'server.ext'), 'subjectAltName=DNS:dns.test\n');
  openssl([
    'x509',
    '-req',
    '-in',
    join(dir.path, 'server.csr'),
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    join(dir.path, 'server.ext'),
    '-out',
    certFile,
  ]);
  fingerprint = new X509Certificate(readFileSync(certFile)).fingerprint256;

  knot = await startKnot({
    'signed.example': {
      records: ['www A 192.0.2.10', 'www AAAA 2001:db8::10', 'alias CNAME www'],
      signed: true,
    },
    'broken.example': { records: ['www A 192.0.2.20'], signed: true },
    'plain.example': { records: ['www A 192.0.2.30'] },
  });
  // broken.example's anchor is another zone's key: Unbound finds its signatures bogus (SERVFAIL).
  const signedDs = knot.ds('signed.example');
  const brokenDs = signedDs.replace(/^signed\.example\./, 'broken.example.');
  unbound = await startUnbound({
    stubs: { 'signed.example': knot.port, 'broken.example': knot.port, 'plain.example': knot.port },
    trustAnchors: [signedDs, brokenDs],
    tls: { certFile, keyFile },
  });
}, 60_000);

afterAll(async () => {
  await unbound?.stop();
  await knot?.stop();
  dir?.cleanup();
});

function dot(text: string, trust?: ResolverTrust): ResolverSpec {
  const spec = parseResolver(text);
  if (typeof spec === 'string') throw new Error(spec);
  return trust ? { ...spec, trust } : spec;
}

const caTrust = (): ResolverTrust => ({ ca: readFileSync(caFile, 'utf8') });

async function lookUp(server: ResolverSpec | ResolverSpec[], name: string, dnssec?: 'require') {
  const resolver = new Resolver({
    servers: Array.isArray(server) ? server : [server],
    timeoutMs: 2000,
    attempts: 1,
    concurrency: 16,
    ...(dnssec ? { dnssec } : {}),
  });
  try {
    return await resolver.lookup(name, 'ipv4');
  } finally {
    await resolver.close();
  }
}

describe('DNS over TLS, against Unbound', () => {
  it('resolves over tls://, checking the certificate against the name after # and the configured CA', async () => {
    const r = await lookUp(
      dot(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`, caTrust()),
      'www.signed.example',
    );
    expect(r.outcome).toBe('answer');
    expect(r.addresses.map((a) => a.address)).toEqual(['192.0.2.10']);
    expect(r.resolver).toBe(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`);
  });

  it('pipelines every query over one reused connection', async () => {
    const connect = vi.spyOn(tls, 'connect');
    try {
      const resolver = new Resolver({
        servers: [dot(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`, caTrust())],
        timeoutMs: 2000,
        attempts: 1,
        concurrency: 16,
      });
      const names = [
        'www.signed.example',
        'alias.signed.example',
        'www.plain.example',
        'missing.signed.example',
      ];
      const results = await resolver.lookupAll(
        Array.from({ length: 40 }, (_, i) => ({ name: names[i % 4] as string, family: 'ipv4' as const })),
      );
      await resolver.close();
      expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['answer', 'nxdomain']));
      expect(connect).toHaveBeenCalledTimes(1);
    } finally {
      connect.mockRestore();
    }
  });

  it('refuses a certificate that is not for the address when no name is given, and says what to do', async () => {
    const r = await lookUp(dot(`tls://127.0.0.1:${unbound.tlsPort}`, caTrust()), 'www.signed.example');
    expect(r.outcome).toBe('refused');
    expect(r.addresses).toEqual([]);
    expect(r.detail).toMatch(
      /certificate of tls:\/\/127\.0\.0\.1:\d+ not accepted \(ERR_TLS_CERT_ALTNAME_INVALID.*name the certificate's host after '#'/,
    );
  });

  it('refuses a certificate from another CA, or from the system CAs, never giving its answer', async () => {
    for (const trust of [{ ca: readFileSync(otherCaFile, 'utf8') }, undefined]) {
      const r = await lookUp(dot(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`, trust), 'www.signed.example');
      expect(r.outcome).toBe('refused');
      expect(r.addresses).toEqual([]);
      expect(r.detail).toMatch(/not accepted \(.*\); set resolver_tls\.ca .* or resolver_tls\.fingerprint/);
    }
  });

  it('accepts a pinned fingerprint instead of a CA, and refuses a wrong one', async () => {
    const right = await lookUp(
      dot(`tls://127.0.0.1:${unbound.tlsPort}`, { fingerprint }),
      'www.signed.example',
    );
    expect(right.outcome).toBe('answer');
    const wrong = await lookUp(
      dot(`tls://127.0.0.1:${unbound.tlsPort}`, { fingerprint: fingerprint.replace(/^../, '00') }),
      'www.signed.example',
    );
    expect(wrong.outcome).toBe('refused');
    expect(wrong.addresses).toEqual([]);
    expect(wrong.detail).toMatch(/has fingerprint .* not the pinned 00:/);
  });

  it('fails over from a tls:// resolver that refuses connections to the next one', async () => {
    const closed = dot('tls://127.0.0.1:9#dns.test', caTrust());
    const r = await lookUp(
      [closed, dot(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`, caTrust())],
      'www.signed.example',
    );
    expect(r.outcome).toBe('answer');
    expect(r.resolver).toBe(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`);
    const alone = await lookUp(closed, 'www.signed.example');
    expect(alone.outcome).toBe('refused');
    expect(alone.detail).toMatch(/TLS connection refused by tls:\/\/127\.0\.0\.1:9#dns\.test/);
  });
});

describe('dnssec: require, against Unbound validating zones that Knot signs', () => {
  const plain = () => ({
    protocol: 'udp' as const,
    host: '127.0.0.1',
    port: unbound.port,
    label: `127.0.0.1:${unbound.port}`,
  });

  it('takes a validated answer (AD), also along a CNAME, and a validated NXDOMAIN', async () => {
    const r = await lookUp(plain(), 'www.signed.example', 'require');
    expect(r.outcome).toBe('answer');
    expect(r.addresses.map((a) => a.address)).toEqual(['192.0.2.10']);
    expect((await lookUp(plain(), 'alias.signed.example', 'require')).outcome).toBe('answer');
    expect((await lookUp(plain(), 'missing.signed.example', 'require')).outcome).toBe('nxdomain');
  });

  it('counts an answer without AD (an unsigned zone) as insecure, a failure naming the name', async () => {
    const off = await lookUp(plain(), 'www.plain.example');
    expect(off.outcome).toBe('answer');
    const r = await lookUp(plain(), 'www.plain.example', 'require');
    expect(r.outcome).toBe('insecure');
    expect(r.addresses).toEqual([]);
    expect(r.detail).toBe(
      `answer for www.plain.example A without the AD flag (not validated by DNSSEC) from ${plain().label}`,
    );
  });

  it('fails on a zone whose signatures do not validate (SERVFAIL from Unbound)', async () => {
    const r = await lookUp(plain(), 'www.broken.example', 'require');
    expect(r.outcome).toBe('servfail');
    expect(r.addresses).toEqual([]);
  });

  it('works over DNS over TLS as well', async () => {
    const r = await lookUp(
      dot(`tls://127.0.0.1:${unbound.tlsPort}#dns.test`, caTrust()),
      'www.signed.example',
      'require',
    );
    expect(r.outcome).toBe('answer');
  });
});

describe('the built CLI', () => {
  it('resolves over DNS over TLS with resolver_tls.ca; a wrong CA fails with one line and exit 3', async () => {
    const config = (ca: string) =>
      `database: ${dir.path}/cli.db\nresolvers: ["tls://127.0.0.1:${unbound.tlsPort}#dns.test"]\nresolver_tls: { ca: ${ca} }\nresolve: { families: [ipv4], attempts: 1 }\nlists:\n  l: { names: [www.signed.example] }\ntargets:\n  out: { type: file, dir: ${dir.path}/lists }\n`;
    writeFileSync(join(dir.path, 'dot.yaml'), config(caFile));
    const ok = await cli(['-c', join(dir.path, 'dot.yaml'), 'resolve']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // Unbound's cache counts the TTL down.
    expect(ok.stdout.trim().replace(/ttl \d+/, 'ttl N')).toBe(
      `www.signed.example  A     192.0.2.10  ttl N  @tls://127.0.0.1:${unbound.tlsPort}#dns.test`,
    );
    writeFileSync(join(dir.path, 'dot.yaml'), config(otherCaFile));
    const bad = await cli(['-c', join(dir.path, 'dot.yaml'), 'resolve']);
    expect(bad.code).toBe(3);
    expect(bad.stdout.trim().split('\n')).toHaveLength(1);
    expect(bad.stdout).toMatch(
      /^www\.signed\.example {2}A {5}REFUSED \(certificate of tls:\/\/127\.0\.0\.1:\d+#dns\.test not accepted/,
    );
  });

  it('sync with dnssec: require keeps the addresses of a name answered without AD, exits 3 and names it once', async () => {
    const lists = `${dir.path}/dnssec-lists`;
    const config = (dnssec: string) =>
      `database: ${dir.path}/dnssec.db\nresolvers: ["127.0.0.1:${unbound.port}"]\ndnssec: ${dnssec}\nresolve: { families: [ipv4], attempts: 1 }\nlists:\n  l: { names: [www.signed.example, www.plain.example] }\ntargets:\n  out: { type: file, dir: ${lists} }\n`;
    const file = join(dir.path, 'dnssec.yaml');
    writeFileSync(file, config('off'));
    const first = await cli(['-c', file, 'sync']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const before = readFileSync(join(lists, 'l.txt'), 'utf8');
    expect(before).toContain('192.0.2.10');
    expect(before).toContain('192.0.2.30');
    writeFileSync(file, config('require'));
    const required = await cli(['-c', file, 'sync']);
    expect(required.code).toBe(3);
    const lines = required.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('www.plain.example'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('www.signed.example'))).toBe(false);
    expect(required.stderr).toMatch(
      /www\.plain\.example A: insecure \(answer for www\.plain\.example A without the AD flag \(not validated by DNSSEC\) from 127\.0\.0\.1:\d+\)/,
    );
    // The name's address stays listed (until its lookups have failed for stale_limit).
    expect(readFileSync(join(lists, 'l.txt'), 'utf8')).toBe(before);
  });
});
