import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import DNS from 'dns2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestZoneServer } from './fakes/dns.js';
import type { ResolverSpec } from '../src/config/resolver-spec.js';

/**
 * Secret values the tests hand to dnsfence (passwords, API keys and secrets of the fake firewalls).
 * Every CLI output and every file a test leaves behind is scanned for them: a test that lets one
 * through fails, whatever it was about.
 */
const secrets = new Set<string>();
export const secretScan = { outputs: 0, files: 0 };

export function registerSecret(value: string): string {
  secrets.add(value);
  return value;
}

/** Throws when a registered secret is in the text: for what a test receives (a webhook's body). */
export function assertNoSecret(text: string, where: string): void {
  for (const secret of secrets)
    if (text.includes(secret)) throw new Error(`a test secret leaked into ${where}`);
}

/** Every regular file under a directory: the database, its WAL, reports, metrics, lists, logs. */
function scanFiles(dir: string, skip: Set<string>): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!entry.isFile() || skip.has(path)) continue;
    assertNoSecret(readFileSync(path, 'latin1'), path);
    secretScan.files += 1;
  }
}

export function tempDir(prefix = 'dnsfence-test-'): {
  path: string;
  /** A file the test itself writes a secret into (a password_file): the leak scan skips it. */
  secretFile(name: string): string;
  cleanup(): void;
} {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const own = new Set<string>();
  return {
    path,
    secretFile: (name) => {
      own.add(join(path, name));
      return join(path, name);
    },
    cleanup: () => {
      try {
        scanFiles(path, own);
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
    },
  };
}

export async function startZone(): Promise<{ zone: TestZoneServer; spec: ResolverSpec }> {
  const zone = new TestZoneServer();
  const port = await zone.start();
  return { zone, spec: { protocol: 'udp', host: '127.0.0.1', port, label: `127.0.0.1:${port}` } };
}

/**
 * Private namespaces (network, mount) need root. Without it the tests that use one fail on this one
 * line rather than on EPERM from deep inside `ip` or `unshare`; nothing is skipped.
 */
export function requireRoot(what: string): void {
  if (process.geteuid?.() === 0) return;
  const error = new Error(`needs root: run as root (${what})`);
  error.stack = error.message; // the line says it all: no trace into this helper
  throw error;
}

/** A private network namespace for real `nft`: tests never touch the host's ruleset. */
export function netns(): {
  name: string;
  nft: string[];
  exec(args: string[], stdin?: string): string;
  cleanup(): void;
} {
  requireRoot('ip netns');
  const name = `dnsfence-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('ip', ['netns', 'add', name]);
  const nft = ['ip', 'netns', 'exec', name, 'nft'];
  return {
    name,
    nft,
    exec: (args, stdin) =>
      execFileSync(nft[0] as string, [...nft.slice(1), ...args], {
        input: stdin ?? '',
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    cleanup: () => execFileSync('ip', ['netns', 'del', name]),
  };
}

/** Elements of one set, as `nft -j` lists them, normalised. */
export function setElements(
  ns: ReturnType<typeof netns>,
  family: string,
  table: string,
  set: string,
): string[] {
  const out = JSON.parse(ns.exec(['-j', 'list', 'set', family, table, set])) as {
    nftables: { set?: { elem?: unknown[] } }[];
  };
  const elems = out.nftables.find((x) => x.set)?.set?.elem ?? [];
  return elems.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).sort();
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's entry point, as package.json's `bin` names it. */
export const BIN = fileURLToPath(new URL('../bin/dnsfence.cjs', import.meta.url));

/** Runs the built CLI as a user would (npm test builds it first). */
export function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> & { pid: number } {
  // bin/dnsfence.cjs runs the bundle the build writes last.
  if (!existsSync(fileURLToPath(new URL('../dist/dnsfence.cjs', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before the end-to-end tests');
  }
  const run = cliProcess(args, options);
  return Object.assign(run.done, { pid: run.pid });
}

/**
 * The built CLI as a long-running process (serve, watch): its output so far, a wait for a line,
 * and a signal; at its end the same scan for secrets as `cli`.
 */
export function cliProcess(
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    /** run inside this network namespace */ netns?: string;
  } = {},
): {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** The first match of `pattern` in stderr, once it is there. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  signal(signal: NodeJS.Signals): void;
  done: Promise<CliRun>;
} {
  const command = [process.execPath, BIN, ...args];
  // `ip netns exec` execs the command: the pid stays the CLI's.
  const [program, ...argv] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command;
  const child = spawn(program as string, argv, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve, reject) =>
    child.on('close', (code, signal) => {
      try {
        assertNoSecret(stdout, `the stdout of dnsfence ${args.join(' ')}`);
        assertNoSecret(stderr, `the stderr of dnsfence ${args.join(' ')}`);
        secretScan.outputs += 1;
      } catch (e) {
        reject(e as Error);
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    }),
  );
  return {
    pid: child.pid as number,
    stdout: () => stdout,
    stderr: () => stderr,
    async line(pattern, timeoutMs = 10_000) {
      await waitFor(
        () => pattern.test(stderr),
        timeoutMs,
        `${pattern} in the stderr of dnsfence ${args.join(' ')}:\n${stderr}`,
      );
      return stderr.match(pattern) as RegExpMatchArray;
    },
    signal: (signal) => child.kill(signal),
    done,
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  const safe = () => {
    try {
      return check();
    } catch {
      return false; // not there yet (a set not created, a file not written)
    }
  };
  while (!safe()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
export function selfSignedCert(dir: string): { cert: string; key: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
}

/** DNS over HTTPS (RFC 8484 POST) in front of a zone. */
export async function startDoh(
  zone: TestZoneServer,
  tls: { cert: string; key: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const server = https.createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/dns-message') {
        res.writeHead(415).end();
        return;
      }
      zone.respond(DNS.Packet.parse(Buffer.concat(chunks)), 'https', (answer) => {
        const body = Buffer.isBuffer(answer) ? answer : answer.toBuffer();
        res
          .writeHead(200, { 'content-type': 'application/dns-message', 'content-length': body.length })
          .end(body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}/dns-query`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port that was free on 127.0.0.1 for both UDP and TCP a moment ago (for servers that need one named). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const dgram = await import('node:dgram');
  for (;;) {
    const server = net.createServer();
    const port = await new Promise<number>((r) =>
      server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
    );
    const udp = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    udp.close();
    await new Promise<void>((r) => server.close(() => r()));
    if (free) return port;
  }
}

/** Debian installs the servers in /usr/sbin, which a non-root PATH may lack. */
function sbin(name: string): string {
  return existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name;
}

export interface KnotZone {
  /** Owner names relative to the zone or absolute (with a final dot), as in a zone file. */
  records: string[];
  /** Knot signs the zone itself (automatic keys, ECDSA P-256). */
  signed?: boolean;
}

/**
 * Knot DNS (Debian: knot) as an authoritative server on 127.0.0.1, in the foreground, with its
 * configuration, zone files, keys and control socket in a temporary folder: nothing of the
 * system's /etc/knot, /var/lib/knot or /run/knot is read or written.
 */
export async function startKnot(
  zones: Record<string, KnotZone>,
  /** A network namespace to run it in (its own 127.0.0.1). */
  netns?: string,
): Promise<{
  port: number;
  /** Replaces a zone's records and waits until Knot serves them. */
  update(zone: string, records: string[]): void;
  /** The DS record of a signed zone, as a presentation-format line. */
  ds(zone: string): string;
  stop(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsfence-knot-'));
  const port = await freePort();
  const serials = new Map<string, number>();
  const writeZone = (zone: string, records: string[]) => {
    const serial = (serials.get(zone) ?? 0) + 1;
    serials.set(zone, serial);
    writeFileSync(
      join(dir, `${zone}.zone`),
      `$ORIGIN ${zone}.\n$TTL 300\n@ SOA ns.${zone}. hostmaster.${zone}. ${serial} 3600 600 86400 60\n@ NS ns.${zone}.\nns A 127.0.0.1\n${records.join('\n')}\n`,
    );
  };
  for (const [zone, z] of Object.entries(zones)) writeZone(zone, z.records);
  const conf = join(dir, 'knot.conf');
  mkdirSync(join(dir, 'db'));
  writeFileSync(
    conf,
    `server:
    rundir: "${dir}"
    pidfile: "${dir}/knot.pid"
    listen: 127.0.0.1@${port}
control:
    listen: "${dir}/knot.sock"
log:
  - target: stderr
    any: error
database:
    storage: "${dir}/db"
template:
  - id: default
    storage: "${dir}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
${Object.entries(zones)
  .map(([zone, z]) => `  - domain: ${zone}\n    dnssec-signing: ${z.signed ? 'on' : 'off'}\n`)
  .join('')}`,
  );
  const command = netns ? ['ip', 'netns', 'exec', netns, sbin('knotd')] : [sbin('knotd')];
  const child = spawn(command[0] as string, [...command.slice(1), '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let missing: Error | undefined;
  child.once('error', (err) => (missing = err));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.on('exit', () => child.kill());
  const knotc = (...args: string[]) =>
    execFileSync(sbin('knotc'), ['-c', conf, '-s', join(dir, 'knot.sock'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const started = Date.now();
  for (;;) {
    if (missing) throw new Error(`cannot run knotd (${missing.message}): apt-get install knot`);
    if (child.exitCode !== null) throw new Error(`knotd exited: ${stderr.trim()}`);
    try {
      // Every zone loaded (and signed): its SOA is served.
      if (Object.keys(zones).every((zone) => /serial: \d+/.test(knotc('zone-status', zone)))) break;
    } catch {
      // not up yet
    }
    if (Date.now() - started > 20_000) throw new Error(`knotd did not start: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    update(zone, records) {
      writeZone(zone, records);
      knotc('-b', 'zone-reload', zone);
    },
    ds(zone) {
      return execFileSync(sbin('keymgr'), ['-c', conf, zone, 'ds'], { encoding: 'utf8' })
        .split('\n')
        .find((l) => / DS \d+ \d+ 2 /.test(l)) as string;
    },
    stop: async () => {
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Unbound (Debian: unbound) as a validating recursive resolver on 127.0.0.1, in the foreground,
 * with its configuration in a temporary folder. It answers only for the given zones, each a stub
 * pointing at an authoritative server on 127.0.0.1 (Knot), and refuses every other name: it never
 * asks a server outside this machine (outgoing queries leave from 127.0.0.1 alone). DNSSEC is
 * validated against the given trust anchors only (no root key): a zone without one is insecure.
 */
export async function startUnbound(options: {
  stubs: Record<string, number>;
  trustAnchors?: string[];
  /** DNS over TLS on its own port, with this certificate (PEM files). */
  tls?: { certFile: string; keyFile: string };
}): Promise<{ port: number; tlsPort: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsfence-unbound-'));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : 0;
  const lines = [
    'server:',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${dir}/unbound.pid"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  do-daemonize: no',
    '  num-threads: 1',
    '  so-reuseport: no',
    '  do-ip6: no',
    `  interface: 127.0.0.1@${port}`,
    ...(options.tls
      ? [
          `  interface: 127.0.0.1@${tlsPort}`,
          `  tls-port: ${tlsPort}`,
          `  tls-service-key: "${options.tls.keyFile}"`,
          `  tls-service-pem: "${options.tls.certFile}"`,
        ]
      : []),
    '  access-control: 127.0.0.0/8 allow',
    '  outgoing-interface: 127.0.0.1',
    '  do-not-query-localhost: no',
    '  module-config: "validator iterator"',
    '  val-log-level: 0',
    // Everything is refused but the test zones, so nothing is ever asked of the root servers.
    '  local-zone: "." refuse',
    ...Object.keys(options.stubs).map((zone) => `  local-zone: "${zone}." transparent`),
    ...(options.trustAnchors ?? []).map((ta) => `  trust-anchor: "${ta}"`),
    'remote-control:',
    '  control-enable: no',
    ...Object.entries(options.stubs).flatMap(([zone, p]) => [
      'stub-zone:',
      `  name: "${zone}."`,
      `  stub-addr: 127.0.0.1@${p}`,
    ]),
  ];
  const conf = join(dir, 'unbound.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn(sbin('unbound'), ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let missing: Error | undefined;
  child.once('error', (err) => (missing = err));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.on('exit', () => child.kill());
  const net = await import('node:net');
  const listening = (p: number) =>
    new Promise<boolean>((r) => {
      const s = net.connect({ host: '127.0.0.1', port: p });
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
  const started = Date.now();
  while (!(await listening(port)) || (tlsPort && !(await listening(tlsPort)))) {
    if (missing) throw new Error(`cannot run unbound (${missing.message}): apt-get install unbound`);
    if (child.exitCode !== null) throw new Error(`unbound exited: ${stderr.trim()}`);
    if (Date.now() - started > 20_000) throw new Error(`unbound did not start: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    tlsPort,
    stop: async () => {
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
