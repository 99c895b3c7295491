import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { parseResolver } from '../src/config/resolver-spec.js';
import { selfSignedCert, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => dir.cleanup());
const FILE = join(dir.path, 'dnsfence.yaml');

function configError(yaml: string): string {
  try {
    parseConfig(yaml, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('tls:// resolvers, resolver_tls and dnssec in the configuration', () => {
  it('parses tls:// with the default port 853, another port, and the certificate name after #', () => {
    expect(parseResolver('tls://192.0.2.53')).toEqual({
      protocol: 'tls',
      host: '192.0.2.53',
      port: 853,
      label: 'tls://192.0.2.53',
    });
    expect(parseResolver('tls://192.0.2.53:8853#DNS.Example.')).toEqual({
      protocol: 'tls',
      host: '192.0.2.53',
      port: 8853,
      servername: 'dns.example',
      label: 'tls://192.0.2.53:8853#dns.example',
    });
    expect(parseResolver('tls://[2001:db8::53]#dns.example')).toMatchObject({
      host: '2001:db8::53',
      port: 853,
      label: 'tls://[2001:db8::53]#dns.example',
    });
    expect(parseResolver('tls://dns.example')).toMatch(
      /must be an IP address .*give the certificate's name after '#': tls:\/\/192\.0\.2\.53#dns\.example/,
    );
    expect(parseResolver('tls://192.0.2.53#not a name')).toMatch(/the name after '#' must be the host name/);
    expect(parseResolver('quic://192.0.2.53')).toMatch(/use udp:\/\/, tcp:\/\/, tls:\/\/ or https:\/\//);
  });

  it('gives tls:// and https:// resolvers the resolver_tls CA or fingerprint, and no other resolver', () => {
    const { certFile, cert } = selfSignedCert(dir.path);
    const c = parseConfig(
      `resolvers: ["tls://192.0.2.53#dns.example", "https://192.0.2.54/dns-query", 192.0.2.55]\nresolver_tls: { ca: ${certFile} }\n`,
      FILE,
    );
    expect(c.resolvers?.map((r) => r.trust)).toEqual([{ ca: cert }, { ca: cert }, undefined]);
    const pinned = parseConfig(
      `resolvers: ["tls://192.0.2.53"]\nresolver_tls: { fingerprint: "sha256:${'ab'.repeat(32)}" }\n`,
      FILE,
    );
    expect(pinned.resolvers?.[0]?.trust).toEqual({ fingerprint: `sha256:${'ab'.repeat(32)}` });
    expect(pinned.resolve.dnssec).toBeUndefined();
  });

  it('refuses a resolver_tls that cannot work, naming the key', () => {
    expect(configError('resolver_tls: { ca: missing.pem }\n')).toMatch(
      /resolver_tls\.ca: cannot read .*missing\.pem: no such file or directory \(ENOENT\)/,
    );
    writeFileSync(join(dir.path, 'not-pem.txt'), 'hello\n');
    expect(configError('resolver_tls: { ca: not-pem.txt }\n')).toMatch(
      /resolver_tls\.ca: .*holds no PEM certificate/,
    );
    expect(configError('resolver_tls: { fingerprint: "12:34" }\n')).toMatch(
      /resolver_tls\.fingerprint: must be a SHA-256 fingerprint/,
    );
    expect(configError('resolver_tls: { insecure: true }\n')).toMatch(/resolver_tls/);
    expect(configError(`resolver_tls: { ca: not-pem.txt, fingerprint: "${'ab'.repeat(32)}" }\n`)).toMatch(
      /resolver_tls: give ca or fingerprint, not both/,
    );
    expect(configError('dnssec: yes\n')).toMatch(/dnssec: must be off or require/);
  });

  it('warns where dnssec: require would trust an AD flag sent over the network unprotected', () => {
    const c = parseConfig(
      'dnssec: require\nresolvers: [127.0.0.1, "[::1]:5353", 192.0.2.53, "tls://192.0.2.54#dns.example", "tcp://198.51.100.53"]\n',
      FILE,
    );
    expect(c.resolve.dnssec).toBe('require');
    expect(c.warnings.filter((w) => w.startsWith('dnssec:'))).toEqual([
      'dnssec: require trusts the AD flag of 192.0.2.53, which crosses the network unprotected: use a validating resolver on this host (127.0.0.1, ::1), tls:// or https://',
      'dnssec: require trusts the AD flag of tcp://198.51.100.53, which crosses the network unprotected: use a validating resolver on this host (127.0.0.1, ::1), tls:// or https://',
    ]);
  });
});
