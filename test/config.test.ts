import { createHash } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../adapters/registry.js';
import { parseConfig as parse } from '../src/config/load.js';
import { readSecret } from '../src/config/secrets.js';
import { ConfigError } from '../src/errors.js';
import { parseResolver } from '../src/config/resolver-spec.js';
import { parseDuration } from '../src/time.js';
import { tempDir } from './helpers.js';

const FILE = '/etc/dnsfence/dnsfence.yaml';
const parseConfig = (text: string, file: string) => parse(text, file, TARGET_TYPES);

function error(yaml: string): string {
  try {
    parseConfig(yaml, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig('lists:\n  web:\n    names: [www.example.com]\n', FILE);
    expect(c.database).toBe('/etc/dnsfence/dnsfence.db');
    expect(c.retentionMs).toBe(24 * 3_600_000);
    expect(c.staleLimitMs).toBe(7 * 86_400_000);
    expect(c.safety).toEqual({ maxRemove: 0.5, allowPrivate: false, maxAddressesPerName: 64 });
    expect(c.resolve).toEqual({ timeoutMs: 2000, attempts: 2, concurrency: 32, families: ['ipv4', 'ipv6'] });
    expect(c.resolvers).toBeUndefined();
  });

  it('hashes the configuration as parsed: layout, comments and key order do not count', () => {
    const text = 'lists:\n  web:\n    names: [www.example.com]\n    retention: 2h\n';
    const hash = parseConfig(text, FILE).hash;
    // The hash every run records: SHA-256 over the canonical JSON (sorted keys) of the document.
    const canonical = '{"lists":{"web":{"names":["www.example.com"],"retention":"2h"}}}';
    expect(hash).toBe(createHash('sha256').update(canonical).digest('hex'));
    const relaid = '# vendor names\nlists:\n  web: { retention: 2h,   names: [ "www.example.com" ] }\n';
    expect(parseConfig(relaid, FILE).hash).toBe(hash);
    expect(parseConfig(text.replace('2h', '3h'), FILE).hash).not.toBe(hash);
    // A copy of the configuration carries the same hash as the original.
    expect({ ...parseConfig(text, FILE) }.hash).toBe(hash);
  });

  it('names the key path of every error', () => {
    expect(error('lists:\n  web:\n    names: [ok.example.com, "bad name.example.com"]\n')).toBe(
      `${FILE}: lists.web.names[1]: "bad name.example.com" contains characters a DNS name cannot hold`,
    );
    expect(error('lists:\n  web:\n    nmes: [a.example.com]\n')).toBe(
      `${FILE}: lists.web: unknown key "nmes"`,
    );
    expect(error('retention: forever\n')).toBe(
      `${FILE}: retention: must be a duration such as 90s, 5m, 24h or 7d`,
    );
    expect(error('targets:\n  fw:\n    type: pfsense\n')).toMatch(
      /targets\.fw\.type: must be one of nftables, file/,
    );
    expect(error('targets:\n  out:\n    type: file\n')).toMatch(/targets\.out\.dir: is required/);
    expect(error('safety: { max_remove: 3 }\n')).toMatch(/safety\.max_remove: is a fraction/);
    expect(error('lists:\n  1web: {}\n')).toMatch(/lists\.1web: list names start with a letter/);
    expect(error('lists:\n  web:\n    static: [192.0.2.300]\n')).toMatch(
      /lists\.web\.static\[0\]: "192\.0\.2\.300" is not an IP/,
    );
    expect(error('resolvers: [dns.example.com]\n')).toMatch(/resolvers\[0\]: .* must be an IP address/);
    expect(error('targets:\n  fw:\n    type: nftables\n    lists: [nope]\n')).toMatch(
      /targets\.fw\.lists\[0\]: "nope" is not a list/,
    );
    expect(error('lists: [1\n')).toMatch(/^\/etc\/dnsfence\/dnsfence\.yaml:\d+:\d+: invalid YAML/);
  });

  it("refuses values that cannot work, in its own words rather than the validator's", () => {
    expect(error('resolve: { timeout: 0s }\n')).toBe(
      `${FILE}: resolve.timeout: must be longer than 0 (e.g. 2s, 24h)`,
    );
    expect(error('retention: 0s\n')).toBe(`${FILE}: retention: must be longer than 0 (e.g. 2s, 24h)`);
    expect(error('lists:\n  web:\n    retention: 0s\n')).toMatch(
      /lists\.web\.retention: must be longer than 0/,
    );
    expect(error('targets:\n  out: { type: file, dir: x, timeout: 0s }\n')).toMatch(
      /targets\.out\.timeout: must be longer than 0/,
    );
    expect(error('lists: 3\n')).toBe(`${FILE}: lists: must be a map of names to settings (name: { … })`);
    expect(error('lists:\n  web:\n    names: www.example.com\n')).toMatch(
      /lists\.web\.names: must be a list/,
    );
    expect(error('resolve: { attempts: 0 }\n')).toBe(`${FILE}: resolve.attempts: must be at least 1`);
    expect(error('resolve: { concurrency: 5000 }\n')).toBe(
      `${FILE}: resolve.concurrency: must be at most 1024`,
    );
    expect(error('lists:\n  web:\n    max_addresses_per_name: 1.5\n')).toMatch(/must be a whole number$/);
    expect(error('safety: { allow_private: yes }\n')).toMatch(
      /safety\.allow_private: must be true or false$/,
    );
    expect(error('lists:\n  web:\n    names: ["{1..5000}.pool.example.com"]\n')).toBe(
      `${FILE}: lists.web.names[0]: "{1..5000}.pool.example.com" expands to more than 1024 names (at most 1024)`,
    );
    for (const message of [
      error('lists: []\n'),
      error('resolve: { attempts: 0 }\n'),
      error('lists:\n  web:\n    names: ["{1..5000}.x.example"]\n'),
    ])
      expect(message).not.toMatch(/record|Too small|expected number|rangeLimit|Invalid input/);
  });

  it('refuses a static prefix wider than /8 or /32 unless the list says allow_wide', () => {
    expect(error('lists:\n  web:\n    static: [0.0.0.0/0]\n')).toMatch(
      /^\/etc\/dnsfence\/dnsfence\.yaml: lists\.web\.static\[0\]: "0\.0\.0\.0\/0" is wider than \/8: .*allow_wide: true/,
    );
    expect(error('lists:\n  web:\n    static: ["2001:db8::/16"]\n')).toMatch(
      /static\[0\]: "2001:db8::\/16" is wider than \/32/,
    );
    const wide = parseConfig(
      'lists:\n  web:\n    allow_wide: true\n    static: [10.0.0.0/7, "::/0"]\n',
      FILE,
    );
    expect(wide.lists.get('web')?.static.map((a) => a.text)).toEqual(['10.0.0.0/7', '::/0']);
    expect(parseConfig('lists:\n  web:\n    static: [10.0.0.0/8, "2001:db8::/32"]\n', FILE).lists.size).toBe(
      1,
    );
  });

  it('warns when nft is one string holding arguments', () => {
    const c = parseConfig('targets:\n  fw: { type: nftables, nft: "ssh fw1 nft" }\n', FILE);
    expect(c.warnings).toEqual([
      'targets.fw.nft: "ssh fw1 nft" is one program name; to pass arguments write a list: [ssh, fw1, nft]',
    ]);
  });

  it('warns once when a list asks for a family its nftables target cannot hold', () => {
    const c = parseConfig(
      'lists:\n  web:\n    names: [www.example.com]\n    static: ["2001:db8::/64"]\n  v4:\n    names: [a.example.com]\n    families: [ipv4]\n' +
        'targets:\n  fw: { type: nftables, family: ip }\n',
      FILE,
    );
    expect(c.warnings).toEqual([
      "targets.fw: holds IPv4 only; list web's AAAA answers and static 2001:db8::/64 will not reach it (set families: [ipv4] on the list, or family: inet on the target)",
    ]);
  });

  it('an nftables table written as nft writes it ("inet dnsfence") is told which key takes the family', () => {
    expect(error('targets:\n  fw: { type: nftables, table: inet dnsfence }\n')).toBe(
      `${FILE}: targets.fw.table: "inet dnsfence" names the family too: write table: dnsfence and family: inet`,
    );
    expect(error('targets:\n  fw: { type: nftables, table: "my table!" }\n')).toBe(
      `${FILE}: targets.fw.table: must be a table name (letters, digits, _ and -)`,
    );
  });

  it('ipset: defaults, set names that fit 31 characters, families, and a prefix that leaves room', () => {
    const c = parseConfig(
      'lists:\n  web:\n    names: [www.example.com]\ntargets:\n  legacy: { type: ipset }\n',
      FILE,
    );
    expect(c.targets.get('legacy')?.settings).toEqual({
      ipset: ['ipset'],
      prefix: '',
      families: ['ipv4', 'ipv6'],
      maxelem: 65536,
    });
    expect(
      error(
        'lists:\n  web:\n    names: [www.example.com]\ntargets:\n  legacy: { type: ipset, lists: { web: a_name_that_is_far_too_long_for_it } }\n',
      ),
    ).toBe(
      `${FILE}: targets.legacy.lists: set name a_name_that_is_far_too_long_for_it_v4 (list web) is 37 characters; ipset allows 31: ` +
        'give the list a shorter name on this target (lists: {web: short})',
    );
    expect(
      error(
        'lists:\n  a_list_named_at_length_limit:\n    names: [www.example.com]\ntargets:\n  legacy: { type: ipset, prefix: fw_ }\n',
      ),
    ).toMatch(
      /targets\.legacy\.prefix: set name fw_a_list_named_at_length_limit_v4 \(list a_list_named_at_length_limit\) is 34 characters/,
    );
    expect(error('targets:\n  legacy: { type: ipset, prefix: "a prefix" }\n')).toBe(
      `${FILE}: targets.legacy.prefix: must be at most 14 letters, digits, _, . or -`,
    );
    expect(error('targets:\n  legacy: { type: ipset, maxelem: 0 }\n')).toMatch(/targets\.legacy\.maxelem: /);
    const v4 = parseConfig(
      'lists:\n  web:\n    names: [www.example.com]\ntargets:\n  legacy: { type: ipset, families: [ipv4], ipset: "ssh fw2 ipset" }\n',
      FILE,
    );
    expect(v4.warnings).toEqual([
      'targets.legacy.ipset: "ssh fw2 ipset" is one program name; to pass arguments write a list: [ssh, fw2, ipset]',
      "targets.legacy: holds IPv4 only; list web's AAAA answers will not reach it (set families: [ipv4] on the list, or families: [ipv4, ipv6] on the target)",
    ]);
  });

  it('reads YAML 1.2: syntax errors with line and column, duplicate keys refused, aliases shared', () => {
    expect(error('lists:\n  web: {}\n  web: {}\n')).toBe(`${FILE}:3:3: invalid YAML: duplicated mapping key`);
    expect(error('lists:\n  web:\n    names: *nope\n')).toMatch(
      /^[^:]+:3:\d+: invalid YAML: unidentified alias "nope"$/,
    );
    expect(error('a: 1\n---\nb: 2\n')).toMatch(/^[^:]+: invalid YAML: expected a single document/);
    // Core schema: a date is not turned into a Date, a tag outside the schema is refused.
    expect(error('retention: 2026-01-01\n')).toMatch(/retention: must be a duration/);
    expect(error('retention: !!binary aGk=\n')).toMatch(/:1:\d+: invalid YAML: unknown tag/);
    const shared = parseConfig('lists:\n  a:\n    names: &n [x.example.com]\n  b:\n    names: *n\n', FILE);
    expect(shared.lists.get('b')?.names).toEqual(['x.example.com']);
    // A billion laughs: nine levels of nine aliases would be 9^9 names if anything expanded them.
    const levels = Array.from({ length: 9 }, (_, i) =>
      i === 0
        ? '      - &l0 [x, x, x, x, x, x, x, x, x]'
        : `      - &l${i} [${Array(9)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
    );
    const bomb = `lists:\n  web:\n    static:\n${levels.join('\n')}\n`;
    expect(error(bomb)).toMatch(/lists\.web\.static\[0\]: must be an address/);
  });

  it('refuses a wildcard name and says what to do instead: list the subdomains, or configure forward', () => {
    const message = error('lists:\n  av:\n    names: ["*.avcloud.intra2net.com"]\n');
    expect(message).toMatch(/lists\.av\.names\[0\]: "\*\.avcloud\.intra2net\.com" is a wildcard/);
    expect(message).toMatch(/List the subdomains/);
    expect(message).toMatch(/configure forward: so that dnsfence watch learns them/);
  });

  it('with forward, takes *.zone as a wildcard learned from traffic, and nothing else with a star', () => {
    const c = parseConfig(
      'forward: {}\nlists:\n  av:\n    names: ["*.AVCloud.intra2net.com.", a.example.com, "*.{x,y}.example.org"]\n',
      FILE,
    );
    const av = c.lists.get('av')!;
    expect(av.names).toEqual(['a.example.com']);
    expect(av.wildcards).toEqual(['*.avcloud.intra2net.com', '*.x.example.org', '*.y.example.org']);
    const bad = (name: string) => error(`forward:\nlists:\n  av:\n    names: ["${name}"]\n`);
    expect(bad('a*.example.com')).toMatch(
      /names\[0\]: "a\*\.example\.com": only a whole first label can be a wildcard/,
    );
    expect(bad('*.*.example.com')).toMatch(/only a whole first label/);
    expect(bad('*')).toMatch(/only a whole first label/);
    expect(bad('*.com')).toMatch(/"\*\.com": the zone is not a fully qualified name/);
  });

  it('forward: the documented defaults; hold targets are the nftables, ipset and file targets', () => {
    const c = parseConfig(
      'resolvers: [192.0.2.53]\nforward:\nlists:\n  web: {names: [www.example.com]}\ntargets:\n  fw: {type: nftables}\n  out: {type: file, dir: out}\n  edge: {type: mikrotik, host: 192.0.2.1, username: u, password_env: P}\n',
      FILE,
    );
    expect(c.forward).toEqual({
      listen: [{ host: '127.0.0.1', port: 53, label: '127.0.0.1:53' }],
      upstreams: undefined,
      clients: [
        { text: '127.0.0.0/8', family: 'ipv4', prefix: 8 },
        { text: '::1', family: 'ipv6', prefix: 128 },
      ],
      holdMs: 200,
      holdTargets: ['fw', 'out'],
      rateLimit: 1000,
      maxLearned: 10000,
    });
    expect(parseConfig('lists: {}\n', FILE).forward).toBeUndefined();
  });

  it('forward: reads its keys, and names the key of each mistake', () => {
    const c = parseConfig(
      'forward:\n  listen: ["[::1]:5353", "192.0.2.10:53"]\n  upstreams: ["tls://192.0.2.53#dns.example"]\n  clients: [192.0.2.0/24]\n  hold: 50ms\n  hold_targets: []\n  rate_limit: 0\n  max_learned: 5\ntargets:\n  fw: {type: nftables}\n',
      FILE,
    );
    expect(c.forward).toMatchObject({
      listen: [
        { host: '::1', port: 5353, label: '[::1]:5353' },
        { host: '192.0.2.10', port: 53, label: '192.0.2.10:53' },
      ],
      upstreams: [{ protocol: 'tls', host: '192.0.2.53', port: 853, servername: 'dns.example' }],
      clients: [{ text: '192.0.2.0/24' }],
      holdMs: 50,
      holdTargets: [],
      rateLimit: 0,
      maxLearned: 5,
    });
    const targets =
      'targets:\n  fw: {type: nftables}\n  edge: {type: mikrotik, host: 192.0.2.1, username: u, password_env: P}\n';
    expect(error('forward:\n  listen: ["localhost:53"]\n')).toBe(
      `${FILE}: forward.listen[0]: "localhost:53" is not an address and port such as "127.0.0.1:53" or "[::1]:53"`,
    );
    expect(error('forward:\n  listen: ["127.0.0.1:0"]\n')).toMatch(
      /forward\.listen\[0\]: "127\.0\.0\.1:0": port must be 1-65535/,
    );
    expect(error('forward:\n  clients: [lan]\n')).toMatch(
      /forward\.clients\[0\]: "lan" is not an address or prefix/,
    );
    expect(error('forward:\n  hold: 10s\n')).toMatch(/forward\.hold: 10s is longer than 2s/);
    expect(error('forward:\n  hold: soon\n')).toMatch(/forward\.hold: must be a duration/);
    expect(error(`forward:\n  hold_targets: [nope]\n${targets}`)).toMatch(
      /forward\.hold_targets\[0\]: no target "nope" \(have: fw, edge\)/,
    );
    expect(error(`forward:\n  hold_targets: [edge]\n${targets}`)).toMatch(
      /forward\.hold_targets\[0\]: edge is a mikrotik target, which answers cannot wait for/,
    );
    expect(error('forward:\n  upstreams: [dns.example]\n')).toMatch(
      /forward\.upstreams\[0\]: .*must be an IP address/,
    );
    expect(error('forward:\n  rate: 5\n')).toMatch(/forward: unknown key "rate"/);
  });

  it('forward: refuses to be its own upstream, given or by default', () => {
    expect(error('forward:\n  listen: ["127.0.0.1:5300"]\n  upstreams: ["127.0.0.1:5300"]\n')).toBe(
      `${FILE}: forward.upstreams[0]: 127.0.0.1:5300 is where the forwarder listens itself (127.0.0.1:5300)`,
    );
    expect(
      error('resolvers: ["127.0.0.1"]\nforward:\n  listen: ["0.0.0.0:53"]\n  clients: [192.0.2.0/24]\n'),
    ).toMatch(
      /forward: upstreams not given, so the forwarder would ask resolvers, and 127\.0\.0\.1 is where it listens itself \(0\.0\.0\.0:53\): set forward\.upstreams/,
    );
    // Another port on the same address is another server.
    expect(
      parseConfig('resolvers: ["127.0.0.1:5353"]\nforward: {}\n', FILE).forward?.upstreams,
    ).toBeUndefined();
  });

  it('forward: warns when the network can reach it but only loopback may ask, and about an open resolver', () => {
    const c = parseConfig('resolvers: [192.0.2.53]\nforward:\n  listen: ["0.0.0.0:53"]\n', FILE);
    expect(c.warnings).toEqual([
      'forward.listen: 0.0.0.0:53 can be reached from the network, but only loopback clients may ask (forward.clients): name the clients, e.g. clients: [192.0.2.0/24]',
    ]);
    const open = parseConfig(
      'resolvers: [192.0.2.53]\nforward:\n  listen: ["0.0.0.0:53"]\n  clients: ["0.0.0.0/0"]\n',
      FILE,
    );
    expect(open.warnings.join('\n')).toMatch(
      /forward\.clients: 0\.0\.0\.0\/0 lets anyone ask: an open resolver/,
    );
  });

  it('expands brace ranges and normalises names', () => {
    const c = parseConfig(
      'lists:\n  ntp:\n    names: ["{0..3}.Pool.Example.org.", "Bücher.example"]\n',
      FILE,
    );
    expect(c.lists.get('ntp')?.names).toEqual([
      '0.pool.example.org',
      '1.pool.example.org',
      '2.pool.example.org',
      '3.pool.example.org',
      'xn--bcher-kva.example',
    ]);
    expect(error('lists:\n  x:\n    names: ["{0..5000}.example.org"]\n')).toMatch(/names\[0\]/);
  });

  it('the intra2net profile adds its lists, and a list of the same name extends one', () => {
    const c = parseConfig(
      'profiles: [intra2net]\nlists:\n  i2n_avcloud:\n    names: [a.avcloud.intra2net.com]\n  i2n_ntp:\n    names: [ntp.example.org]\n    retention: 3d\n',
      FILE,
    );
    expect([...c.lists.keys()]).toEqual(['i2n_https', 'i2n_avcloud', 'i2n_ntp', 'i2n_support']);
    const ntp = c.lists.get('i2n_ntp')!;
    expect(ntp.names).toEqual([
      '0.intra2net.pool.ntp.org',
      '1.intra2net.pool.ntp.org',
      '2.intra2net.pool.ntp.org',
      '3.intra2net.pool.ntp.org',
      'ntp.example.org',
    ]);
    expect(ntp.retentionMs).toBe(3 * 86_400_000);
    expect(c.lists.get('i2n_avcloud')?.names).toEqual(['a.avcloud.intra2net.com']);
    const bare = parseConfig('profiles: [intra2net]\n', FILE);
    expect(bare.lists.get('i2n_ntp')?.retentionMs).toBe(7 * 86_400_000);
    expect(bare.warnings.join('\n')).toMatch(/i2n_avcloud: has no names.*wildcard.*configure forward:/);
    // With forward, the profile's list learns its wildcard instead, and there is nothing to warn about.
    const learning = parseConfig('resolvers: [192.0.2.53]\nforward:\nprofiles: [intra2net]\n', FILE);
    expect(learning.lists.get('i2n_avcloud')).toMatchObject({
      names: [],
      wildcards: ['*.avcloud.intra2net.com'],
    });
    expect(learning.lists.get('i2n_avcloud')?.note).toBeUndefined();
    expect(learning.warnings).toEqual([]);
    expect(error('profiles: [acme]\n')).toMatch(/profiles\[0\]: unknown profile "acme"/);
  });

  it('maps, limits and renames lists per target', () => {
    const c = parseConfig(
      'lists:\n  a: {names: [a.example.com]}\n  b: {names: [b.example.com]}\ntargets:\n  all: {type: file, dir: out}\n  one: {type: nftables, lists: [a]}\n  renamed: {type: nftables, nft: [ssh, fw1, nft], lists: {b: partner-b}}\n',
      FILE,
    );
    expect([...c.targets.get('all')!.lists]).toEqual([
      ['a', 'a'],
      ['b', 'b'],
    ]);
    expect([...c.targets.get('one')!.lists]).toEqual([['a', 'a']]);
    const renamed = c.targets.get('renamed')!;
    expect([...renamed.lists]).toEqual([['b', 'partner-b']]);
    expect(renamed.type).toBe('nftables');
    expect((renamed.settings as { nft: string[] }).nft).toEqual(['ssh', 'fw1', 'nft']);
    expect(c.targets.get('all')!.type).toBe('file');
    expect((c.targets.get('all')!.settings as { dir: string }).dir).toBe('/etc/dnsfence/out');
  });

  it('requires secrets by reference, never inline', () => {
    expect(
      error('targets:\n  edge: {type: mikrotik, host: 192.0.2.1, username: u, password: hunter2}\n'),
    ).toMatch(/targets\.edge: unknown key "password"/);
    expect(error('targets:\n  edge: {type: mikrotik, host: 192.0.2.1, username: u}\n')).toMatch(
      /password_env or password_file is required/,
    );
  });
});

describe('serve:', () => {
  it('reads listen, tls, users_file, clients and healthy_within, paths beside the configuration', () => {
    const c = parseConfig(
      'serve:\n  listen: "[::]:8443"\n  tls: { cert_file: tls.crt, key_file: /etc/ssl/tls.key }\n' +
        '  users_file: feed-users\n  clients: [192.0.2.0/24, "2001:db8::7"]\n  healthy_within: 15m\n',
      FILE,
    );
    expect(c.serve).toEqual({
      listen: { host: '::', port: 8443 },
      tls: { certFile: '/etc/dnsfence/tls.crt', keyFile: '/etc/ssl/tls.key' },
      usersFile: '/etc/dnsfence/feed-users',
      clients: [
        { text: '192.0.2.0/24', family: 'ipv4', prefix: 24 },
        { text: '2001:db8::7', family: 'ipv6', prefix: 128 },
      ],
      healthyWithinMs: 900_000,
    });
    expect(parseConfig('serve: {}\n', FILE).serve).toEqual({
      listen: { host: '127.0.0.1', port: 8080 },
      clients: [],
    });
    expect(parseConfig('lists: {}\n', FILE).serve).toBeUndefined();
  });

  it('names the key of every mistake', () => {
    expect(error('serve:\n  listen: 8443\n')).toMatch(/serve\.listen: must be address:port/);
    expect(error('serve:\n  listen: "0.0.0.0"\n')).toMatch(/serve\.listen: "0\.0\.0\.0" is not address:port/);
    expect(error('serve:\n  listen: "[192.0.2.1]:80"\n')).toMatch(
      /serve\.listen: "192\.0\.2\.1" is not an IPv6 address/,
    );
    expect(error('serve:\n  clients: [192.0.2.300]\n')).toMatch(
      /serve\.clients\[0\]: "192\.0\.2\.300" is not an address/,
    );
    expect(error('serve:\n  tls: { cert_file: a.crt }\n')).toMatch(/serve\.tls\.key_file: is required/);
    expect(error('serve:\n  password: x\n')).toMatch(/serve: unknown key "password"/);
    expect(error('serve:\n  healthy_within: 0s\n')).toMatch(/serve\.healthy_within: must be longer than 0/);
  });
});

describe('secrets', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('reads *_env and *_file, trims, and warns about a file others can read', () => {
    expect(
      readSecret({ key: 'targets.edge.password_env', env: 'EDGE_PW' }, { EDGE_PW: 's3cret' }).value,
    ).toBe('s3cret');
    expect(() => readSecret({ key: 'targets.edge.password_env', env: 'EDGE_PW' }, {})).toThrow(
      'targets.edge.password_env: environment variable EDGE_PW is not set or empty',
    );
    const file = join(dir.path, 'pw');
    writeFileSync(file, '  s3cret\n');
    chmodSync(file, 0o600);
    expect(readSecret({ key: 'k', file })).toEqual({ value: 's3cret' });
    chmodSync(file, 0o644);
    expect(readSecret({ key: 'k', file }).warning).toMatch(/readable by group or others/);
    const missing = () => readSecret({ key: 'targets.edge.password_file', file: join(dir.path, 'nope') });
    expect(missing).toThrow(
      /targets\.edge\.password_file: cannot read .*nope: no such file or directory \(ENOENT\)$/,
    );
  });
});

describe('resolver and duration syntax', () => {
  it('parses every documented resolver form', () => {
    expect(parseResolver('192.0.2.53')).toMatchObject({ protocol: 'udp', host: '192.0.2.53', port: 53 });
    expect(parseResolver('192.0.2.54:5353')).toMatchObject({ port: 5353, label: '192.0.2.54:5353' });
    expect(parseResolver('[2001:db8::53]:53')).toMatchObject({ host: '2001:db8::53', port: 53 });
    expect(parseResolver('2001:db8::53')).toMatchObject({ host: '2001:db8::53', port: 53 });
    expect(parseResolver('tcp://192.0.2.53:53')).toMatchObject({ protocol: 'tcp', port: 53 });
    expect(parseResolver('https://doh.example/dns-query')).toMatchObject({
      protocol: 'https',
      url: 'https://doh.example/dns-query',
    });
    expect(typeof parseResolver('ftp://x')).toBe('string');
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('7 days')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});
