import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import DNS from 'dns2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZoneServer } from '../src/demo/dns-server.js';
import type { ResolverSpec } from '../src/resolver/servers.js';

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

function assertNoSecret(text: string, where: string): void {
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

export async function startZone(): Promise<{ zone: ZoneServer; spec: ResolverSpec }> {
  const zone = new ZoneServer();
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
  const child = spawn(process.execPath, [BIN, ...args], {
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
  return Object.assign(done, { pid: child.pid as number });
}

/**
 * The built CLI as a long-running process (serve, watch): its output so far, a wait for a line,
 * and a signal; at its end the same scan for secrets as `cli`.
 */
export function cliProcess(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** The first match of `pattern` in stderr, once it is there. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  signal(signal: NodeJS.Signals): void;
  done: Promise<CliRun>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
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
  zone: ZoneServer,
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
