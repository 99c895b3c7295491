import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { cliProcess, tempDir } from '../helpers.js';
import { fmt, RUNS, stats, writeSection } from './doc.js';

// dnsfence serve under 100 polling clients (autocannon, keep-alive connections), a 10,000-address
// list, unconditional GETs (200 with the whole list) and conditional ones (304), beside the same
// file served by Debian's nginx-light as the anchor; then serve's memory over a 60 s run. Needs
// autocannon (a devDependency; AUTOCANNON=path/to/autocannon to use another) and nginx
// (`apt-get install nginx-light`).

const ADDRESSES = 10_000;
const CONNECTIONS = 100;
const SECONDS = Number(process.env.DNSFENCE_BENCH_FEED_SECONDS ?? 8);
const MEMORY_SECONDS = Number(process.env.DNSFENCE_BENCH_FEED_MEMORY_SECONDS ?? 60);
/** Polls the memory run makes before it measures: V8 sizes its heap in the first seconds of load. */
const WARM_UP_SECONDS = Number(process.env.DNSFENCE_BENCH_FEED_WARM_UP_SECONDS ?? 30);
/** Latency is compared at this offered rate too: a load both servers carry without queueing. */
const RATE = 1000;
const AUTOCANNON =
  process.env.AUTOCANNON ?? fileURLToPath(new URL('../../node_modules/.bin/autocannon', import.meta.url));
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const SECRET = 'bench-secret-not-a-real-one';

/** 10,000 distinct addresses from the documentation ranges: the 762 IPv4 hosts, then IPv6 hosts. */
function addresses(): string[] {
  const v4 = ['192.0.2', '198.51.100', '203.0.113'].flatMap((net) =>
    Array.from({ length: 254 }, (_, i) => `${net}.${i + 1}`),
  );
  return Array.from(
    { length: ADDRESSES },
    (_, i) => v4[i] ?? `2001:db8:${(i >> 8).toString(16)}::${(i & 0xff).toString(16)}`,
  );
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

/** One autocannon run against a URL; throws when an answer was not the expected status. */
function autocannon(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  expected: number,
  rate?: number,
): Load {
  const args = ['-c', String(CONNECTIONS), '-d', String(seconds), '-j', '--renderStatusCodes'];
  if (rate) args.push('-R', String(rate));
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  const r = spawnSync(AUTOCANNON, [...args, url], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`autocannon ${url}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    statusCodeStats?: Record<string, { count: number }>;
    errors: number;
    non2xx: number;
  };
  const statuses = Object.fromEntries(
    Object.entries(out.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]),
  );
  const other = Object.keys(statuses).filter((s) => Number(s) !== expected);
  if (out.errors > 0 || other.length > 0)
    throw new Error(`autocannon ${url}: ${out.errors} errors, answers ${JSON.stringify(statuses)}`);
  return { rps: out.requests.average, p50: out.latency.p50, p99: out.latency.p99, statuses };
}

function etagOf(url: string, auth?: string): string {
  const out = execFileSync(
    'curl',
    ['-sS', '-D', '-', '-o', '/dev/null', ...(auth ? ['-u', auth] : []), url],
    {
      encoding: 'utf8',
    },
  );
  return /^etag: (.*)$/im.exec(out)?.[1]?.trim() as string;
}

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

it('feeds: serve against nginx', async () => {
  if (!existsSync(AUTOCANNON)) throw new Error(`${AUTOCANNON}: no autocannon (npm install, or AUTOCANNON=…)`);
  if (!existsSync(NGINX)) throw new Error(`${NGINX}: no nginx (apt-get install nginx-light)`);
  const dir = tempDir('dnsfence-bench-feeds-');
  const list = addresses();
  const users = join(dir.path, 'feed-users');
  writeFileSync(users, `poller:${SECRET}\n`, { mode: 0o600 });
  chmodSync(users, 0o600);
  const config = (extra: string) => {
    writeFileSync(
      join(dir.path, 'dnsfence.yaml'),
      `lists:\n  big:\n    static: [${list.map((a) => JSON.stringify(a)).join(', ')}]\n` +
        `targets:\n  feeds: { type: feed }\nserve:\n  listen: "127.0.0.1:0"\n${extra}`,
    );
  };
  config('');
  const bin = fileURLToPath(new URL('../../bin/dnsfence.cjs', import.meta.url));
  execFileSync(process.execPath, [bin, '-c', join(dir.path, 'dnsfence.yaml'), '-q', 'sync']);

  const rows: string[] = [];
  const serveRows = async (auth?: string) => {
    const serving = cliProcess(['-c', join(dir.path, 'dnsfence.yaml'), 'serve']);
    try {
      const base = (await serving.line(/answering on (\S+):/))[1] as string;
      const url = `${base}/feeds/feeds/big.txt`;
      const headers: Record<string, string> = auth
        ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` }
        : {};
      const etag = etagOf(url, auth);
      const full = Array.from({ length: RUNS }, () => autocannon(url, headers, SECONDS, 200));
      const held = Array.from({ length: RUNS }, () =>
        autocannon(url, { ...headers, 'If-None-Match': etag }, SECONDS, 304),
      );
      const paced = Array.from({ length: RUNS }, () =>
        autocannon(url, { ...headers, 'If-None-Match': etag }, SECONDS, 304, RATE),
      );
      return { full, held, paced };
    } finally {
      serving.signal('SIGTERM');
      await serving.done;
    }
  };

  const plain = await serveRows();
  config(`  users_file: feed-users\n`);
  const authed = await serveRows(`poller:${SECRET}`);

  // nginx-light as Debian ships it, one worker (serve is one process on one core), serving the
  // same bytes from a file with its own ETag.
  const root = join(dir.path, 'www');
  execFileSync('mkdir', ['-p', join(root, 'feeds', 'feeds')]);
  const text = `${[...list.filter((a) => !a.includes(':')), ...list.filter((a) => a.includes(':'))].join('\n')}\n`;
  writeFileSync(join(root, 'feeds', 'feeds', 'big.txt'), text);
  const nginxPort = 18_000 + (process.pid % 1000);
  writeFileSync(
    join(dir.path, 'nginx.conf'),
    `user root;\nworker_processes 1;\ndaemon off;\npid ${dir.path}/nginx.pid;\nerror_log stderr;\n` +
      `events { worker_connections 1024; }\n` +
      `http { access_log off; types { text/plain txt; } default_type text/plain; etag on;\n` +
      `  server { listen 127.0.0.1:${nginxPort}; root ${root}; } }\n`,
  );
  const nginx = spawn(NGINX, ['-c', join(dir.path, 'nginx.conf'), '-p', dir.path], { stdio: 'ignore' });
  let nginxRows: { full: Load[]; held: Load[]; paced: Load[] };
  try {
    const url = `http://127.0.0.1:${nginxPort}/feeds/feeds/big.txt`;
    for (let i = 0; i < 50 && spawnSync('curl', ['-sf', '-o', '/dev/null', url]).status !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const served = execFileSync('curl', ['-sS', url], { encoding: 'utf8' });
    expect(served).toBe(text);
    const etag = etagOf(url);
    nginxRows = {
      full: Array.from({ length: RUNS }, () => autocannon(url, {}, SECONDS, 200)),
      held: Array.from({ length: RUNS }, () => autocannon(url, { 'If-None-Match': etag }, SECONDS, 304)),
      paced: Array.from({ length: RUNS }, () =>
        autocannon(url, { 'If-None-Match': etag }, SECONDS, 304, RATE),
      ),
    };
  } finally {
    nginx.kill('SIGQUIT');
  }

  // Memory: serve polled without pause for MEMORY_SECONDS, its RSS read every second.
  config('');
  const serving = cliProcess(['-c', join(dir.path, 'dnsfence.yaml'), 'serve']);
  const rss: number[] = [];
  let fetchesWritten = 0;
  try {
    const base = (await serving.line(/answering on (\S+):/))[1] as string;
    const sampler = setInterval(() => rss.push(rssKiB(serving.pid)), 1000);
    const load = new Promise<Load>((resolve, reject) => {
      const child = spawn(
        AUTOCANNON,
        [
          '-c',
          String(CONNECTIONS),
          '-d',
          String(WARM_UP_SECONDS + MEMORY_SECONDS),
          '-j',
          `${base}/feeds/feeds/big.txt`,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => {
        try {
          const j = JSON.parse(out) as {
            requests: { average: number; total: number };
            latency: { p50: number; p99: number };
          };
          resolve({
            rps: j.requests.average,
            p50: j.latency.p50,
            p99: j.latency.p99,
            statuses: { total: j.requests.total },
          });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    const during = await load;
    clearInterval(sampler);
    serving.signal('SIGTERM');
    await serving.done;
    fetchesWritten = Number(
      execFileSync('sqlite3', [join(dir.path, 'dnsfence.db'), 'SELECT count(*) FROM feed_fetches'], {
        encoding: 'utf8',
      }),
    );
    rows.push(
      `memory run: ${Math.round(during.rps)} requests/s, p99 ${during.p99} ms, ${during.statuses.total} requests`,
    );
  } finally {
    serving.signal('SIGTERM');
    dir.cleanup();
  }

  const rps = (l: Load[]) => stats(l.map((x) => x.rps));
  const p = (l: Load[], k: 'p50' | 'p99') => stats(l.map((x) => x[k]));
  const line = (who: string, what: string, l: Load[]) =>
    `| ${who} | ${what} | ${fmt(rps(l), 0)} | ${fmt(p(l, 'p50'), 0)} | ${fmt(p(l, 'p99'), 0)} |`;
  const ratio = (a: Load[], b: Load[]) => {
    const r = a.map((x, i) => x.rps / (b[i] as Load).rps);
    return fmt(stats(r), 2);
  };
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const at = (s: number) => rss[Math.min(rss.length - 1, s - 1)] as number;
  const measured = rss.slice(WARM_UP_SECONDS, WARM_UP_SECONDS + MEMORY_SECONDS);
  const every10 = Array.from(
    { length: Math.floor(MEMORY_SECONDS / 10) + 1 },
    (_, i) => `${mib(at(WARM_UP_SECONDS + i * 10 || 1))}`,
  ).join(', ');
  const nginxVersion = spawnSync(NGINX, ['-v'], { encoding: 'utf8' })
    .stderr.trim()
    .replace('nginx version: ', '');
  const bytes = Buffer.byteLength(
    `${[...list.filter((a) => !a.includes(':')), ...list.filter((a) => a.includes(':'))].join('\n')}\n`,
  );
  writeSection(
    'feeds',
    `## 7. Feeds: \`serve\` against nginx

${CONNECTIONS} polling clients (autocannon ${autocannonVersion()}, keep-alive connections, ${SECONDS} s per run,
${RUNS} runs each) fetch one feed file of ${ADDRESSES.toLocaleString('en')} addresses (${(bytes / 1024).toFixed(0)} KiB):
unconditional GETs, answered 200 with the whole list, and conditional ones with the ETag they hold,
answered 304. Every fetch is recorded in the database (in batches; see \`src/serve/fetch-log.ts\`).
The anchor is the same bytes served from a file by Debian's ${nginxVersion} (nginx-light) with one
worker process, as serve is one process, and \`access_log off\`. The load generator runs on the same
two cores: it takes one of them, so both servers have one. Requests/s and latency in ms, min / median / max.

| server | request | requests/s | p50 ms | p99 ms |
| --- | --- | --- | --- | --- |
${line('dnsfence serve', 'GET, 200', plain.full)}
${line('dnsfence serve', 'If-None-Match, 304', plain.held)}
${line('dnsfence serve, Basic auth', 'GET, 200', authed.full)}
${line('dnsfence serve, Basic auth', 'If-None-Match, 304', authed.held)}
${line(`nginx ${nginxVersion}`, 'GET, 200', nginxRows.full)}
${line(`nginx ${nginxVersion}`, 'If-None-Match, 304', nginxRows.held)}
${line('dnsfence serve', `If-None-Match, 304, ${RATE}/s offered`, plain.paced)}
${line('dnsfence serve, Basic auth', `If-None-Match, 304, ${RATE}/s offered`, authed.paced)}
${line(`nginx ${nginxVersion}`, `If-None-Match, 304, ${RATE}/s offered`, nginxRows.paced)}

serve against nginx, requests/s per run: ${ratio(plain.full, nginxRows.full)}× for the whole list,
${ratio(plain.held, nginxRows.held)}× for 304s (target: ≥ 0.5×). p99 of a 304 at saturation: ${fmt(p(plain.held, 'p99'), 0)} ms;
at ${RATE} polls/s offered: ${fmt(p(plain.paced, 'p99'), 0)} ms, nginx ${fmt(p(nginxRows.paced, 'p99'), 0)} ms (target: ≤ 20 ms).

Memory of serve while ${CONNECTIONS} clients fetch the whole list without pause (RSS, MiB): ${mib(at(5))} after 5 s;
after a warm-up of ${WARM_UP_SECONDS} s, every 10 s of the next ${MEMORY_SECONDS} s: ${every10}; in those ${MEMORY_SECONDS} s
${mib(Math.min(...measured))} to ${mib(Math.max(...measured))}, peak of the whole run ${mib(Math.max(...rss))};
${fetchesWritten.toLocaleString('en')} fetch records written in all (${rows.join('; ')}).`,
  );
}, 3_600_000);

function autocannonVersion(): string {
  try {
    const pkg = join(AUTOCANNON, '..', '..', 'autocannon', 'package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}
