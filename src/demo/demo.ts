import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import DNS from 'dns2';
import type { Config, Endpoint } from '../config/types.js';
import { Forwarder } from '../forward/forwarder.js';
import { KeyedLock } from '../keyed-lock.js';
import type { Db } from '../store/db.js';
import { TARGET_TYPES } from '../../adapters/registry.js';
import { feedPath } from '../../adapters/feed/index.js';
import { parseConfig } from '../config/load.js';
import { DEFAULT_HEALTHY_WITHIN_MS, serveSettings } from '../config/serve.js';
import type { Logger } from '../log.js';
import { buildReport } from '../report/model.js';
import { renderReport } from '../report/render.js';
import { openDatabase } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { runSync } from '../sync/engine.js';
import type { Change } from '../model/change.js';
import type { ReportModel } from '../report/model.js';
import { ZoneServer } from './dns-server.js';
import { changeLine } from '../model/change.js';
import { noticeLine } from '../sync/notices.js';
import { FeedServer } from '../serve/server.js';

const HOUR = 3_600_000;

interface Round {
  title: string;
  /** Simulated time of the round, relative to the first. */
  offset: number;
  change(zone: ZoneServer): void;
  /** A name the appliance asks dnsfence's forwarder for before the round's sync. */
  asks?: string;
}

/** The Intra2net names answering from documentation ranges, changing as the vendor warns they may. */
function initialZone(zone: ZoneServer): void {
  zone.set('update.intra2net.com', { a: ['192.0.2.10'], aaaa: ['2001:db8:10::10'], ttl: 300 });
  zone.set('avupdate.intra2net.com', { cname: 'cdn.avupdate.intra2net.com', ttl: 300 });
  zone.set('cdn.avupdate.intra2net.com', { a: ['198.51.100.20', '198.51.100.21'], ttl: 60 });
  zone.set('avfpc.intra2net.com', { a: ['192.0.2.30'], ttl: 300 });
  zone.set('a.avcloud.intra2net.com', { a: ['203.0.113.40'], ttl: 300 });
  zone.set('support.intra2net.com', { a: ['192.0.2.50'], ttl: 3600 });
  zone.set('0.intra2net.pool.ntp.org', { a: ['203.0.113.1', '203.0.113.2'], ttl: 150 });
  zone.set('1.intra2net.pool.ntp.org', { a: ['203.0.113.3', '203.0.113.4'], ttl: 150 });
  zone.set('2.intra2net.pool.ntp.org', { a: ['203.0.113.5'], aaaa: ['2001:db8:123::5'], ttl: 150 });
  zone.set('3.intra2net.pool.ntp.org', { a: ['203.0.113.7', '203.0.113.8'], ttl: 150 });
}

const ROUNDS: Round[] = [
  { title: 'first sync: every list is filled', offset: 0, change: initialZone },
  {
    title: 'one hour later: update.intra2net.com moves, the NTP pool rotates',
    offset: 1 * HOUR,
    change: (z) => {
      z.set('update.intra2net.com', { a: ['192.0.2.11'], aaaa: ['2001:db8:10::10'], ttl: 300 });
      z.set('0.intra2net.pool.ntp.org', { a: ['203.0.113.9', '203.0.113.2'], ttl: 150 });
    },
  },
  {
    title: 'two hours later: the resolver fails for support.intra2net.com (SERVFAIL); nothing is removed',
    offset: 2 * HOUR,
    change: (z) => z.set('support.intra2net.com', { servfail: true }),
  },
  {
    title:
      "later: the appliance asks dnsfence (the forwarder) for x7.avcloud.intra2net.com, a name under the profile's wildcard",
    offset: 2.5 * HOUR,
    change: (z) => z.set('x7.avcloud.intra2net.com', { a: ['203.0.113.44'], ttl: 300 }),
    asks: 'x7.avcloud.intra2net.com',
  },
  {
    title: 'a day later: the old update address has aged out of the 24h retention',
    offset: 26 * HOUR,
    change: (z) => z.set('support.intra2net.com', { a: ['192.0.2.50'], ttl: 3600 }),
  },
];

/** Prints a response as `curl -i` shows it, the headers a poller cares about. */
function printResponse(print: (s: string) => void, res: http.IncomingMessage, body: string): void {
  const lines = [`  HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`];
  for (const h of ['Content-Type', 'Content-Length', 'ETag', 'Last-Modified', 'Cache-Control']) {
    const value = res.headers[h.toLowerCase()];
    if (value !== undefined) lines.push(`  ${h}: ${String(value)}`);
  }
  if (body)
    lines.push(
      '',
      ...body
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
    );
  print(lines.join('\n'));
}

function get(url: string, auth: string, headers: Record<string, string> = {}) {
  return new Promise<{ res: http.IncomingMessage; body: string }>((resolve, reject) =>
    http
      .get(url, { auth, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ res, body }));
      })
      .on('error', reject),
  );
}

/**
 * The feed target's list as a firewall polls it: `dnsfence serve` on a free port of 127.0.0.1, one
 * fetch with the demo user's credentials, and the conditional poll that follows it. The fetches
 * are recorded, so the report lists this consumer.
 */
async function pollFeed(
  config: Config,
  user: string,
  secret: string,
  print: (s: string) => void,
  log: Logger,
): Promise<void> {
  const settings = serveSettings(config.serve);
  const server = await FeedServer.start({
    config,
    settings,
    healthyWithinMs: DEFAULT_HEALTHY_WITHIN_MS,
    log: { ...log, info: () => undefined },
    clock: () => new Date(),
  });
  try {
    const url = `${server.url}${feedPath('polled', 'i2n_https')}`;
    print(`\na firewall polls the feed target: GET ${url} (HTTP Basic, user ${user})`);
    const first = await get(url, `${user}:${secret}`);
    printResponse(print, first.res, first.body);
    print(`\nits next poll, with If-None-Match: ${first.res.headers.etag}`);
    const again = await get(url, `${user}:${secret}`, { 'If-None-Match': first.res.headers.etag as string });
    printResponse(print, again.res, again.body);
  } finally {
    await server.close();
  }
}

/**
 * Offline demonstration: an embedded DNS server on 127.0.0.1 plays the Intra2net names, syncs
 * run on a simulated clock into a scratch database and a file target, the appliance asks
 * dnsfence's forwarder for a name under the profile's wildcard once, then the report.
 */
export interface DemoResult {
  folder: string;
  rounds: { title: string; at: string; exitCode: number; changes: Change[] }[];
  report: ReportModel;
}

export async function runDemo(print: (s: string) => void, log: Logger): Promise<DemoResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsfence-demo-'));
  const zone = new ZoneServer();
  const port = await zone.start();
  initialZone(zone);
  const configPath = join(dir, 'dnsfence.yaml');
  writeFileSync(
    configPath,
    `# written by dnsfence demo
database: demo.db
resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 1s, attempts: 2 }
# The forwarder: names under the profile's *.avcloud.intra2net.com are learned from the answers
# it passes on (the demo listens on a free port of 127.0.0.1 instead of port 53).
forward:
  listen: ["127.0.0.1:53"]
profiles: [intra2net]
lists:
  i2n_avcloud:
    names: [a.avcloud.intra2net.com]
targets:
  export:
    type: file
    dir: lists
  polled:
    type: feed                 # for firewalls that poll a URL: dnsfence serve answers it
    lists: [i2n_https]
serve:
  listen: "127.0.0.1:0"        # any free port on this host
  users_file: feed-users       # user:secret lines; the demo's secret is random and never shown
`,
  );
  const secret = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'feed-users'), `firewall:${secret}\n`, { mode: 0o600 });
  const config = parseConfig(readFileSync(configPath, 'utf8'), configPath, TARGET_TYPES);
  const db = openDatabase(config.database);
  migrate(db, config.database);
  // The simulated clock ends at the real now, so the report's default period covers every round.
  const last = ROUNDS.at(-1)!.offset;
  const base = Date.now() - last;
  const rounds: DemoResult['rounds'] = [];
  try {
    print(`dnsfence demo: DNS server on 127.0.0.1:${port}, scratch folder ${dir}\n`);
    for (const [i, round] of ROUNDS.entries()) {
      round.change(zone);
      const at = base + round.offset;
      // Said before the round runs: what it warns about (on stderr) then follows its title.
      print(`\nround ${i + 1} (${new Date(at).toISOString()}): ${round.title}`);
      const forwarded = round.asks
        ? await askForwarder(config, db, round.asks, () => new Date(at), log)
        : { lines: [], changes: [] };
      for (const line of forwarded.lines) print(`  ${line}`);
      const result = await runSync(config, db, {
        command: 'demo',
        preview: false,
        force: false,
        clock: () => new Date(at),
        onNotice: (n) => {
          const { level, text } = noticeLine(n);
          log[level](text);
        },
      });
      const changes = [...forwarded.changes, ...result.targets.flatMap((t) => t.push?.applied ?? [])];
      rounds.push({ title: round.title, at: new Date(at).toISOString(), exitCode: result.exitCode, changes });
      for (const c of changes) print(`  ${changeLine(c)}`);
      if (changes.length === 0) print('  no change');
      print(
        `  exit code would be ${result.exitCode}${result.exitCode === 3 ? ' (degraded: a name failed, its addresses were kept)' : ''}`,
      );
    }
    await pollFeed(config, 'firewall', secret, print, log);
    const now = new Date();
    const model = buildReport(db, new Date(base - 1000), now, {}, now, config);
    print('\n' + renderReport(model, 'text'));
    print(`The list files are in ${join(dir, 'lists')}; for example i2n_https.txt:\n`);
    print(readFileSync(join(dir, 'lists', 'i2n_https.txt'), 'utf8'));
    print(
      `Try: dnsfence -c ${configPath} status   (or history x7.avcloud.intra2net.com, report --format csv, audit verify; npx dnsfence in the clone)`,
    );
    return { folder: dir, rounds, report: model };
  } finally {
    db.close();
    await zone.stop();
  }
}

/**
 * The appliance's query through dnsfence's forwarder, on a free port of 127.0.0.1: the answer
 * is held until the list file holds its address, which the demo shows by reading the file the
 * moment the answer arrives.
 */
async function askForwarder(
  config: Config,
  db: Db,
  name: string,
  clock: () => Date,
  log: Logger,
): Promise<{ lines: string[]; changes: Change[] }> {
  const changes: Change[] = [];
  const forwarder = await Forwarder.start(config, {
    db,
    gate: new KeyedLock(),
    clock,
    log: { ...log, info: () => undefined },
    listen: [{ host: '127.0.0.1', port: 0, label: '127.0.0.1:0' }],
    wantSync: () => undefined,
    held: (confirmed) => changes.push(...confirmed),
  });
  let lines: string[];
  try {
    const endpoint = forwarder.endpoints[0] as Endpoint;
    const file = join(dirname(config.database), 'lists', 'i2n_avcloud.txt');
    const started = performance.now();
    const { addresses, listed } = await askA(endpoint.port, name, () =>
      existsSync(file) ? readFileSync(file, 'utf8') : '',
    );
    const ms = performance.now() - started;
    const held = addresses.filter((a) => listed.split('\n').includes(a));
    lines = [
      `asked dnsfence on ${endpoint.label} for ${name} A: ${addresses.join(', ')} after ${ms.toFixed(0)} ms`,
      `lists/i2n_avcloud.txt held ${held.join(', ') || 'none of it'} the moment the answer arrived`,
    ];
  } finally {
    // Closing waits for the forwarder's records, and so for its additions to be handed over.
    await forwarder.close();
  }
  return { lines, changes };
}

/** An A query to 127.0.0.1:port; `atAnswer` runs the moment the answer arrives. */
function askA(
  port: number,
  name: string,
  atAnswer: () => string,
): Promise<{ addresses: string[]; listed: string }> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const query = new DNS.Packet();
    query.header.id = 1;
    query.header.rd = 1;
    query.questions.push(new DNS.Packet.Question(name, DNS.Packet.TYPE.A, DNS.Packet.CLASS.IN));
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from the forwarder for ${name}`));
    }, 5000);
    socket.on('message', (message) => {
      const listed = atAnswer();
      clearTimeout(timer);
      socket.close();
      const addresses = DNS.Packet.parse(message)
        .answers.map((a) => a.address)
        .filter((a): a is string => typeof a === 'string');
      resolve({ addresses, listed });
    });
    socket.send(query.toBuffer(), port, '127.0.0.1');
  });
}
