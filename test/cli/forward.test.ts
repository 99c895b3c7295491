import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  cliProcess,
  freePort,
  netns,
  startKnot,
  tempDir,
  waitFor,
  type CliRun,
} from '../helpers.js';

// dnsfence watch as the DNS forwarder, run as an admin runs it, inside a private network namespace
// with real nft and Knot DNS behind it. An application there asks the forwarder and sends its
// first packet to the answered address at once; an nft counter in the table dnsfence fills says
// whether that packet went to an address already in the set.

const FIRST_PACKET = fileURLToPath(new URL('./first-packet.mjs', import.meta.url));
const FRESH = Array.from({ length: 20 }, (_, i) => `n${i}.avcloud.intra2net.com`);

let ns: ReturnType<typeof netns>;
let knot: Awaited<ReturnType<typeof startKnot>>;
let dir: ReturnType<typeof tempDir>;
let port: number;
let table: string;
let tables = 0;

/** A command inside the namespace. */
const inNs = (command: string[], input = '') =>
  execFileSync('ip', ['netns', 'exec', ns.name, ...command], { input, encoding: 'utf8' });

beforeAll(async () => {
  ns = netns();
  // Loopback for the servers; an interface (one end of a veth pair) with default routes, so an
  // application's first packet to any address leaves (and passes the output hook, where it is counted).
  for (const cmd of [
    ['link', 'set', 'lo', 'up'],
    ['link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'out1'],
    ['link', 'set', 'out0', 'up'],
    ['link', 'set', 'out1', 'up'],
    ['addr', 'add', '192.0.2.254/24', 'dev', 'out0'],
    ['route', 'add', 'default', 'dev', 'out0'],
    ['-6', 'addr', 'add', '2001:db8:ffff::254/64', 'dev', 'out0', 'nodad'],
    ['-6', 'route', 'add', 'default', 'dev', 'out0'],
  ])
    execFileSync('ip', ['-n', ns.name, ...cmd]);
  knot = await startKnot(
    {
      'intra2net.com': {
        records: [
          ...FRESH.map((n, i) => `${n}. A 203.0.113.${10 + i}`),
          'v6.avcloud AAAA 2001:db8::77',
          'avcloud A 203.0.113.1',
          'x.avcloud A 203.0.113.7',
          'cdn.avcloud A 203.0.113.5',
          'partner CNAME cdn.avcloud',
        ],
      },
      'example.com': {
        records: ['www A 192.0.2.1', ...Array.from({ length: 60 }, (_, i) => `big A 198.51.100.${i + 1}`)],
      },
    },
    ns.name,
  );
}, 60_000);

afterAll(async () => {
  await knot?.stop();
  ns?.cleanup();
});

beforeEach(async () => {
  dir = tempDir();
  port = await freePort();
  table = `fwd${++tables}`;
  // dnsfence's table with its sets made beforehand, and a chain of the admin's that counts the
  // applications' first packets: to an address in the set, and all of them. dnsfence never touches rules.
  inNs(
    ['nft', '-f', '-'],
    `add table inet ${table}
add set inet ${table} av_v4 { type ipv4_addr; flags interval; }
add set inet ${table} av_v6 { type ipv6_addr; flags interval; }
add chain inet ${table} probe { type filter hook output priority 0; }
add rule inet ${table} probe udp dport 9 ip daddr @av_v4 counter
add rule inet ${table} probe udp dport 9 ip6 daddr @av_v6 counter
add rule inet ${table} probe udp dport 9 counter
`,
  );
});

afterEach(() => {
  try {
    inNs(['nft', 'delete', 'table', 'inet', table]);
  } finally {
    dir.cleanup();
  }
});

function writeConfig(forward = ''): string {
  const path = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    path,
    `resolvers: ["127.0.0.1:${knot.port}"]
resolve: { timeout: 1s, attempts: 1 }
forward:
  listen: ["127.0.0.1:${port}"]
  hold: 1s
${forward}
lists:
  av:
    names: ["*.avcloud.intra2net.com", www.example.com]
targets:
  fw:
    type: nftables
    table: ${table}
  out:
    type: file
    dir: lists
`,
  );
  return path;
}

/** `dnsfence watch`, started inside the namespace as an admin would. */
function watch(...args: string[]): Promise<CliRun> & { pid: number; output(): string } {
  const run = cliProcess(['-c', join(dir.path, 'dnsfence.yaml'), 'watch', ...args], { netns: ns.name });
  return Object.assign(run.done, { pid: run.pid, output: run.stderr });
}

/** A dnsfence command in the namespace, as the admin runs it on the firewall host. */
function inNsCli(...args: string[]): CliRun {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns.name, process.execPath, BIN, '-c', join(dir.path, 'dnsfence.yaml'), ...args],
    { encoding: 'utf8' },
  );
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const dig = (...args: string[]) =>
  inNs(['dig', '@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args]);

/** The counters of the probe chain: first packets to a set member (v4, v6), and all of them. */
function counters(): { inV4: number; inV6: number; all: number } {
  const rules = inNs(['nft', 'list', 'chain', 'inet', table, 'probe']);
  const packets = [...rules.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  return { inV4: packets[0] ?? 0, inV6: packets[1] ?? 0, all: packets[2] ?? 0 };
}

function firstPackets(type: 'A' | 'AAAA', names: string[]): { name: string; addresses: string[] | null }[] {
  return inNs([process.execPath, FIRST_PACKET, String(port), type, ...names])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; addresses: string[] | null });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function started(watcher: ReturnType<typeof watch>): Promise<void> {
  await waitFor(() => watcher.output().includes('forward: answering on'), 15_000, 'the forwarder to answer');
}

describe('watch forwards DNS and puts new addresses on the firewall before the answer', () => {
  it('20 fresh names: each first packet goes to an address already in the set (20/20); AAAA too; never late', async () => {
    writeConfig();
    const watcher = watch();
    try {
      await started(watcher);
      const answers = firstPackets('A', FRESH);
      expect(answers.map((a) => a.addresses)).toEqual(FRESH.map((_, i) => [`203.0.113.${10 + i}`]));
      const v6 = firstPackets('AAAA', ['v6.avcloud.intra2net.com']);
      expect(v6[0]?.addresses).toEqual(['2001:db8:0:0:0:0:0:77']);
      await sleep(200);
      expect(counters()).toEqual({ inV4: 20, inV6: 1, all: 21 });
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    expect(done.stderr).not.toMatch(/late/);
    expect(done.stderr).toMatch(/forward: learned n0\.avcloud\.intra2net\.com/);
    // The file target, which also holds answers, has them too.
    const file = execFileSync('cat', [join(dir.path, 'lists', 'av.txt')], { encoding: 'utf8' });
    expect(file).toContain('203.0.113.29');
  }, 60_000);

  it('a CNAME into the wildcard zone is learned; the zone itself and names on no list are forwarded and nothing else', async () => {
    writeConfig();
    const watcher = watch();
    try {
      await started(watcher);
      // partner.intra2net.com is on no list, but its CNAME leads below the wildcard.
      expect(firstPackets('A', ['partner.intra2net.com'])[0]?.addresses).toEqual(['203.0.113.5']);
      expect(counters()).toMatchObject({ inV4: 1, all: 1 });
      expect(dig('+short', 'avcloud.intra2net.com', 'A').trim()).toBe('203.0.113.1');
      expect(dig('+short', 'www.example.org', 'A').trim()).toBe('');
      await sleep(300);
      const v4 = inNs(['nft', 'list', 'set', 'inet', table, 'av_v4']);
      expect(v4).toContain('203.0.113.5');
      expect(v4).not.toContain('203.0.113.1');
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    expect((await watcher).code).toBe(0);
  }, 60_000);

  it('TC passes through, TCP goes over TCP; other clients get REFUSED', async () => {
    writeConfig('  clients: [127.0.0.1/32]');
    const watcher = watch();
    try {
      await started(watcher);
      const udp = dig('+noedns', '+ignore', 'big.example.com', 'A');
      expect(udp).toMatch(/flags: qr[^;]* tc/);
      const tcp = dig('+tcp', 'big.example.com', 'A');
      expect(tcp).toMatch(/ANSWER: 60,/);
      expect(tcp).toMatch(/\(TCP\)/);
      const outside = dig('-b', '127.0.0.2', 'www.example.com', 'A');
      expect(outside).toMatch(/status: REFUSED/);
      expect(dig('+short', 'www.example.com', 'A').trim()).toBe('192.0.2.1');
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    expect((await watcher).code).toBe(0);
  }, 60_000);
});

describe('status, history and report show what was learned', () => {
  it('learned names with when and from which client', async () => {
    writeConfig();
    const watcher = watch();
    try {
      await started(watcher);
      expect(dig('+short', 'x.avcloud.intra2net.com', 'A').trim()).toBe('203.0.113.7');
      await sleep(1500); // what the forwarder learned is written every second
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    // The held addition is a change like a sync's, on stdout with its time.
    expect(done.stdout).toMatch(
      /^\S+Z {2}fw {2}av {2}\+ 203\.0\.113\.7 {2}x\.avcloud\.intra2net\.com {2}\(dns: learned from the answer forwarded to 127\.0\.0\.1, which waited for it\)$/m,
    );
    const config = join(dir.path, 'dnsfence.yaml');
    const status = await cli(['-c', config, 'status']);
    expect(status.stdout).toMatch(
      / {2}av: \d+ address\(es\); learns \*\.avcloud\.intra2net\.com from forwarded answers/,
    );
    expect(status.stdout).toMatch(
      /^ {4}x\.avcloud\.intra2net\.com {2}A answer.*\n {6}learned \S+ from 127\.0\.0\.1 \(\*\.avcloud\.intra2net\.com\); last asked \S+ by 127\.0\.0\.1$/m,
    );
    const history = await cli(['-c', config, 'history', 'x.avcloud.intra2net.com']);
    expect(history.stdout).toMatch(
      /^x\.avcloud\.intra2net\.com {2}\(list av\)\n {2}learned by list av \S+ \S+ from 127\.0\.0\.1 \(\*\.avcloud\.intra2net\.com\)/,
    );
    expect(history.stdout).toMatch(/203\.0\.113\.7 /);
    const report = await cli(['-c', config, 'report']);
    expect(report.stdout).toMatch(/^names learned +x\.avcloud\.intra2net\.com$/m);
    expect(report.stdout).toMatch(
      /Names learned from DNS traffic \(the forwarder\):\n {2}av {2}x\.avcloud\.intra2net\.com {2}learned \S+ \S+ from 127\.0\.0\.1 {2}through \*\.avcloud\.intra2net\.com/,
    );
    expect(report.stdout).toMatch(/fw +av +\+ added +203\.0\.113\.7 +dns +x\.avcloud\.intra2net\.com/);
    // The wildcard taken out of the configuration takes its learned names with it; history says so.
    writeFileSync(config, readFileSync(config, 'utf8').replace('"*.avcloud.intra2net.com", ', ''));
    const after = await cli(['-c', config, 'history', 'x.avcloud.intra2net.com']);
    expect(after.stdout).toMatch(
      /^x\.avcloud\.intra2net\.com\n {2}learned by list av .*; no longer a name of the list: \*\.avcloud\.intra2net\.com is not configured any more$/m,
    );
  }, 60_000);
});

describe('a forwarder failure never stops the watch', () => {
  it('upstreams down: SERVFAIL, and watch goes on syncing (a flushed set is restored)', async () => {
    writeConfig();
    const watcher = watch('--drift-interval', '1s');
    try {
      await started(watcher);
      await waitFor(
        () => inNs(['nft', 'list', 'set', 'inet', table, 'av_v4']).includes('192.0.2.1'),
        10_000,
        'the first sync',
      );
      // Knot gone: nothing answers on its port.
      writeConfig();
      const dead = await freePort();
      writeFileSync(
        join(dir.path, 'dnsfence.yaml'),
        execFileSync('cat', [join(dir.path, 'dnsfence.yaml')], { encoding: 'utf8' }).replace(
          `forward:\n`,
          `forward:\n  upstreams: ["127.0.0.1:${dead}"]\n`,
        ),
      );
      process.kill(watcher.pid, 'SIGHUP');
      await sleep(500);
      expect(dig('www.example.com', 'A')).toMatch(/status: SERVFAIL/);
      inNs(['nft', 'flush', 'set', 'inet', table, 'av_v4']);
      await waitFor(
        () => inNs(['nft', 'list', 'set', 'inet', table, 'av_v4']).includes('192.0.2.1'),
        5000,
        'the flushed set to be restored',
      );
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(
      /warn: forward: no upstream answers \(nothing listens on 127\.0\.0\.1:\d+ \(ICMP port unreachable\)\); clients get SERVFAIL until one does/,
    );
  }, 60_000);

  it('a port that is taken: one line, and watch goes on syncing', async () => {
    writeConfig();
    const watcher = watch('--listen', `127.0.0.1:${knot.port}`);
    try {
      await waitFor(
        () => inNs(['nft', 'list', 'set', 'inet', table, 'av_v4']).includes('192.0.2.1'),
        15_000,
        'the first sync',
      );
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    const done = await watcher;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(
      new RegExp(
        `error: forward: cannot listen on 127\\.0\\.0\\.1:${knot.port} \\(UDP\\): address already in use \\(EADDRINUSE\\) \\(another DNS server listens there: systemd-resolved, dnsmasq, another watch\\?\\); watch goes on syncing without answering there`,
      ),
    );
  }, 60_000);
});

describe('check with forward', () => {
  it('binds each listening address and lets it go, asks each upstream; a running watch holding the port is a warning', async () => {
    const dead = await freePort();
    writeConfig(`  upstreams: ["127.0.0.1:${knot.port}", "127.0.0.1:${dead}"]`);
    const r = inNsCli('check');
    expect(r.stdout).toContain(
      'ok    forward: for 127.0.0.0/8, ::1; hold 1s for fw, out; learns names for av (*.avcloud.intra2net.com)',
    );
    expect(r.stdout).toContain(`ok    forward listen 127.0.0.1:${port}: can be bound (UDP and TCP)`);
    expect(r.stdout).toMatch(
      new RegExp(`^ok    forward upstream 127\\.0\\.0\\.1:${knot.port}: \\S+ A: answer$`, 'm'),
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `^FAIL  forward upstream 127\\.0\\.0\\.1:${dead}: \\S+ A: refused \\(nothing listens on 127\\.0\\.0\\.1:${dead} \\(ICMP port unreachable\\)\\)$`,
        'm',
      ),
    );
    expect(r.code).toBe(1);

    writeConfig();
    const watcher = watch();
    try {
      await started(watcher);
      const running = inNsCli('check');
      expect(running.stdout).toMatch(
        new RegExp(
          `^warn  forward listen 127\\.0\\.0\\.1:${port}: cannot listen on 127\\.0\\.0\\.1:${port} \\(UDP\\): address already in use .*another watch\\?\\)$`,
          'm',
        ),
      );
      expect(running.code).toBe(0);
    } finally {
      process.kill(watcher.pid, 'SIGTERM');
    }
    expect((await watcher).code).toBe(0);

    writeConfig();
    const path = join(dir.path, 'dnsfence.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(`127.0.0.1:${port}`, `192.0.2.99:${port}`));
    const nowhere = inNsCli('check');
    expect(nowhere.stdout).toContain(
      `FAIL  forward listen 192.0.2.99:${port}: cannot listen on 192.0.2.99:${port} (UDP): cannot assign requested address (EADDRNOTAVAIL) (not an address of this host)`,
    );
    expect(nowhere.code).toBe(1);
  }, 60_000);
});
