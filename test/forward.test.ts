import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import DNS from 'dns2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../adapters/registry.js';
import { parseConfig } from '../src/config/load.js';
import type { Config, ListConfig } from '../src/config/types.js';
import { withLearned } from '../src/store/learned.js';
import type { TestZoneServer } from './fakes/dns.js';
import { Forwarder, IN_FLIGHT } from '../src/forward/forwarder.js';
import { KeyedLock } from '../src/keyed-lock.js';
import type { Logger } from '../src/log.js';
import { openDatabase, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { freePort, netns, setElements, startZone, tempDir } from './helpers.js';
import { silentLogger } from '../src/log.js';
import { runSync, type SyncResult } from '../src/sync/engine.js';
import { Watcher } from '../src/sync/watch.js';

// The forwarder in this process, with real sockets: a dns2 zone server behind it (its fault modes:
// truncation, SERVFAIL, silence), targets to hold answers for (real nft in a private network
// namespace, behind a wrapper that takes 0.1 s: an answer let go without waiting would arrive
// first; and a file target), a real SQLite file.

let zone: TestZoneServer;
let upstream: number;
let dir: ReturnType<typeof tempDir>;
let db: Db;
let forwarder: Forwarder | undefined;
let port: number;
let logged: string[];
let wanted: string[][];
let ns: ReturnType<typeof netns>;
let table: string;
let tables = 0;
/** The forwarder's and the syncs' clock: real time, unless a test moves it. */
let now: number | undefined;
const clock = () => new Date(now ?? Date.now());

const log: Logger = {
  debug: () => undefined,
  info: (m) => logged.push(`info: ${m}`),
  warn: (m) => logged.push(`warn: ${m}`),
  error: (m) => logged.push(`error: ${m}`),
};

beforeAll(async () => {
  ({
    zone,
    spec: { port: upstream },
  } = await startZone());
  ns = netns();
});
afterAll(async () => {
  await zone.stop();
  ns?.cleanup();
});
beforeEach(async () => {
  now = undefined;
  dir = tempDir();
  table = `fwd${++tables}`;
  writeFileSync(join(dir.path, 'nft'), `#!/bin/sh\nsleep 0.1\nexec ${ns.nft.join(' ')} "$@"\n`, {
    mode: 0o755,
  });
  logged = [];
  wanted = [];
  port = await freePort();
  zone.set('x.avcloud.intra2net.com', { a: ['203.0.113.7'], ttl: 60 });
  zone.set('y.avcloud.intra2net.com', { aaaa: ['2001:db8::77'], ttl: 60 });
  zone.set('avcloud.intra2net.com', { a: ['203.0.113.1'], ttl: 60 });
  zone.set('www.example.com', { a: ['192.0.2.1'], ttl: 60 });
  zone.set('alias.partner.example', { cname: 'z.avcloud.intra2net.com', ttl: 60 });
  zone.set('z.avcloud.intra2net.com', { a: ['198.51.100.9'], ttl: 60 });
  zone.zone.delete('update.example.net');
});
afterEach(async () => {
  await forwarder?.close();
  forwarder = undefined;
  db?.close();
  dir.cleanup();
});

async function start(
  forward = '',
  extra = '',
  resolve = '{ timeout: 1s, attempts: 1 }',
  top = '',
): Promise<Config> {
  const file = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    file,
    `resolvers: ["127.0.0.1:${upstream}"]\nresolve: ${resolve}\n${top}` +
      `forward:\n  listen: ["127.0.0.1:${port}"]\n${forward}\n` +
      'lists:\n  av:\n    names: ["*.avcloud.intra2net.com", update.example.net]\n' +
      `targets:\n  out: {type: file, dir: lists}\n  fw: {type: nftables, table: ${table}, nft: [${join(dir.path, 'nft')}]}\n${extra}`,
  );
  const config = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
  db = openDatabase(config.database);
  migrate(db, config.database);
  forwarder = await Forwarder.start(config, {
    db,
    gate: new KeyedLock(),
    clock,
    log,
    wantSync: (lists) => wanted.push(lists),
  });
  return config;
}

function query(name: string, type: number, options: { id?: number; edns?: boolean } = {}): Buffer {
  const p = new DNS.Packet();
  p.header.id = options.id ?? 4711;
  p.header.rd = 1;
  p.questions.push(new DNS.Packet.Question(name, type, DNS.Packet.CLASS.IN));
  if (options.edns) p.additionals.push(DNS.Packet.Resource.EDNS([]));
  return p.toBuffer();
}

/** Sends one datagram; resolves with the answer and what `atAnswer` saw the moment it arrived. */
function ask<T = undefined>(
  message: Buffer,
  options: { from?: string; timeoutMs?: number; atAnswer?: () => T } = {},
): Promise<{ answer: Buffer; seen: T | undefined } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, options.timeoutMs ?? 3000);
    socket.on('message', (answer) => {
      const seen = options.atAnswer?.();
      clearTimeout(timer);
      socket.close();
      resolve({ answer, seen });
    });
    socket.on('error', reject);
    socket.bind(0, options.from ?? '127.0.0.1', () => socket.send(message, port, '127.0.0.1'));
  });
}

const listFile = () => join(dir.path, 'lists', 'av.txt');
const listed = () => (existsSync(listFile()) ? readFileSync(listFile(), 'utf8').trim().split('\n') : []);
/** The nft set of a family, read at once (an answer that did not wait would be here before its address). */
const inSet = (family: 4 | 6) => () => {
  try {
    return setElements(ns, 'inet', table, `av_v${family}`);
  } catch {
    return []; // no set yet
  }
};
const parse = (b: Buffer) => DNS.Packet.parse(b);

describe('the forwarder learns from the answers it forwards', () => {
  it('a wildcard name: the address is on the hold target when the answer arrives, recorded with client and time', async () => {
    await start('  hold: 1s');
    const r = await ask(query('X.avcloud.intra2net.com', DNS.Packet.TYPE.A), { atAnswer: inSet(4) });
    expect(r).toBeDefined();
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['203.0.113.7']);
    expect(parse(r!.answer).header.id).toBe(4711);
    expect(r!.seen).toEqual(['203.0.113.7']);
    expect(listed()).toEqual(['203.0.113.7']);
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare('SELECT list, name, entry, client FROM learned').all()).toEqual([
      { list: 'av', name: 'x.avcloud.intra2net.com', entry: '*.avcloud.intra2net.com', client: '127.0.0.1' },
    ]);
    expect(db.prepare('SELECT name, family, address FROM presence').all()).toEqual([
      { name: 'x.avcloud.intra2net.com', family: 'ipv4', address: '203.0.113.7' },
    ]);
    expect(
      db
        .prepare('SELECT target, list, action, address, names, reason, detail FROM audit ORDER BY target')
        .all(),
    ).toEqual(
      ['fw', 'out'].map((target) => ({
        target,
        list: 'av',
        action: 'added',
        address: '203.0.113.7',
        names: 'x.avcloud.intra2net.com',
        reason: 'dns',
        detail: 'learned from the answer forwarded to 127.0.0.1, which waited for it',
      })),
    );
    expect(logged).toContainEqual(
      'info: forward: learned x.avcloud.intra2net.com for list av (*.avcloud.intra2net.com) from 127.0.0.1',
    );
  });
});

describe('what is learned, and what is not', () => {
  it('an AAAA answer under the wildcard: the IPv6 address is on the target when the answer arrives', async () => {
    await start('  hold: 1s');
    const r = await ask(query('y.avcloud.intra2net.com', DNS.Packet.TYPE.AAAA), { atAnswer: inSet(6) });
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['2001:db8::77']);
    expect(r!.seen).toEqual(['2001:db8::77']);
  });

  it('a CNAME into the wildcard zone: the name below the wildcard is learned, not the name asked for; a sync keeps its address', async () => {
    const config = await start('  hold: 1s');
    const r = await ask(query('alias.partner.example', DNS.Packet.TYPE.A), { atAnswer: inSet(4) });
    expect(parse(r!.answer).answers.map((a) => a.name)).toEqual([
      'alias.partner.example',
      'z.avcloud.intra2net.com',
    ]);
    expect(r!.seen).toEqual(['198.51.100.9']);
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare('SELECT name, entry FROM learned').all()).toEqual([
      { name: 'z.avcloud.intra2net.com', entry: '*.avcloud.intra2net.com' },
    ]);
    expect(db.prepare('SELECT name, address, chain FROM presence_intervals').all()).toEqual([
      { name: 'z.avcloud.intra2net.com', address: '198.51.100.9', chain: null },
    ]);
    // The next sync resolves the learned name itself and keeps its address.
    const synced = await runSync(config, db, { command: 'test', preview: false, force: false, clock });
    expect(synced.targets.flatMap((t) => t.push?.applied ?? [])).toEqual([]);
    expect(listed()).toEqual(['198.51.100.9']);
  });

  it('after a reload that moves a hold target (another folder), answers wait for the new place', async () => {
    const config = await start('  hold: 1s');
    const file = config.file;
    writeFileSync(file, readFileSync(file, 'utf8').replace('dir: lists}', 'dir: lists2}'));
    const moved = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
    await forwarder!.reload(moved);
    const there = join(dir.path, 'lists2', 'av.txt');
    const r = await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A), {
      atAnswer: () => (existsSync(there) ? readFileSync(there, 'utf8').trim() : ''),
    });
    expect(r!.seen).toBe('203.0.113.7');
    expect(existsSync(listFile())).toBe(false);
  });

  it('a name on no list with a CNAME to a configured name teaches that name, and never becomes one of the list', async () => {
    zone.set('evil.attacker.example', { cname: 'update.example.net', ttl: 60 });
    zone.set('update.example.net', { a: ['198.51.100.7'], ttl: 60 });
    const config = await start('  hold: 1s');
    const r = await ask(query('evil.attacker.example', DNS.Packet.TYPE.A), { atAnswer: inSet(4) });
    expect(r!.seen).toEqual(['198.51.100.7']);
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare('SELECT count(*) AS n FROM learned').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT name, address FROM presence').all()).toEqual([
      { name: 'update.example.net', address: '198.51.100.7' },
    ]);
    // Whoever holds evil.attacker.example points it elsewhere: no sync takes that into the list.
    zone.set('evil.attacker.example', { a: ['203.0.113.66'], ttl: 60 });
    await runSync(config, db, { command: 'test', preview: false, force: false, clock });
    expect(listed()).toEqual(['198.51.100.7']);
    zone.zone.delete('evil.attacker.example');
  });

  it('the zone of a wildcard is not below it, and a name on no list is forwarded and nothing else', async () => {
    await start();
    const apex = await ask(query('avcloud.intra2net.com', DNS.Packet.TYPE.A));
    expect(parse(apex!.answer).answers.map((a) => a.address)).toEqual(['203.0.113.1']);
    const other = await ask(query('www.example.com', DNS.Packet.TYPE.A));
    expect(parse(other!.answer).answers.map((a) => a.address)).toEqual(['192.0.2.1']);
    await forwarder!.close();
    forwarder = undefined;
    for (const table of ['learned', 'presence', 'lookups', 'audit', 'runs'])
      expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get(), table).toEqual({ n: 0 });
    expect(existsSync(listFile())).toBe(false);
    expect(inSet(4)()).toEqual([]);
  });

  it('a configured name is observed and held for, not learned', async () => {
    zone.set('update.example.net', { a: ['192.0.2.44'], ttl: 60 });
    await start('  hold: 1s');
    const r = await ask(query('update.example.net', DNS.Packet.TYPE.A), { atAnswer: inSet(4) });
    expect(r!.seen).toEqual(['192.0.2.44']);
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare('SELECT count(*) AS n FROM learned').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT name, address FROM presence').all()).toEqual([
      { name: 'update.example.net', address: '192.0.2.44' },
    ]);
  });

  it('an answer the list does not take (a private address) is forwarded, and nothing waits for it', async () => {
    zone.set('inside.avcloud.intra2net.com', { a: ['10.1.2.3'], ttl: 60 });
    await start();
    const r = await ask(query('inside.avcloud.intra2net.com', DNS.Packet.TYPE.A), { atAnswer: listed });
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['10.1.2.3']);
    expect(r!.seen).toEqual([]);
    expect(forwarder!.stats.held).toBe(0);
  });
});

describe('a forwarder, not a filter', () => {
  it('passes the query on as the client asked it, and the answer back unchanged but for the ID', async () => {
    // An upstream that keeps what it got and answers with flags, records and EDNS options of its own.
    const raw = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    raw.on('message', (m, from) => {
      got.push(m);
      const p = DNS.Packet.parse(m);
      const answer = new DNS.Packet(p);
      answer.header.qr = 1;
      answer.header.aa = 1;
      answer.header.ra = 1;
      answer.answers.push({
        name: p.questions[0]!.name,
        type: 1,
        class: 1,
        ttl: 4321,
        address: '203.0.113.99',
      } as DNS.Packet.Resource);
      raw.send(answer.toBuffer(), from.port, from.address);
    });
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    await start(`  upstreams: ["127.0.0.1:${raw.address().port}"]`);
    // A client cookie (option 10) and the DO bit, as a validating stub sends them.
    const asked = query('www.example.com', DNS.Packet.TYPE.A, { id: 999 });
    const opt = Buffer.from([
      0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    const message = Buffer.concat([asked, opt]);
    message.writeUInt16BE(1, 10);
    const r = await ask(message);
    raw.close();
    expect(got).toHaveLength(1);
    const sent = got[0]!;
    expect(sent.readUInt16BE(0)).not.toBe(999);
    expect(sent.subarray(2)).toEqual(message.subarray(2));
    const answer = r!.answer;
    expect(answer.readUInt16BE(0)).toBe(999);
    const p = parse(answer);
    expect(p.header).toMatchObject({ qr: 1, aa: 1, ra: 1, rd: 1 });
    expect(p.answers).toEqual([expect.objectContaining({ address: '203.0.113.99', ttl: 4321 })]);
  });

  it('a truncated answer goes back truncated; the client asks again over TCP, and that goes on over TCP', async () => {
    zone.set('big.avcloud.intra2net.com', {
      behaviour: 'truncate',
      a: Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`),
    });
    await start();
    zone.log.length = 0;
    const udp = await ask(query('big.avcloud.intra2net.com', DNS.Packet.TYPE.A, { edns: true }));
    expect(parse(udp!.answer).header.tc).toBe(1);
    const answer = await askTcp(query('big.avcloud.intra2net.com', DNS.Packet.TYPE.A, { id: 31 }));
    expect(answer.readUInt16BE(0)).toBe(31);
    expect(parse(answer).answers).toHaveLength(60);
    expect(zone.log).toEqual(['udp big.avcloud.intra2net.com A', 'tcp big.avcloud.intra2net.com A']);
  });

  it('never answers over UDP with more than the client takes (512 bytes without EDNS): TC instead', async () => {
    zone.set('wide.example.com', { a: Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`) });
    // Over TCP the upstream sends all of it; the client came over UDP without EDNS.
    await start(`  upstreams: ["tcp://127.0.0.1:${upstream}"]`);
    const plain = await ask(query('wide.example.com', DNS.Packet.TYPE.A));
    expect(plain!.answer.length).toBeLessThanOrEqual(512);
    expect(parse(plain!.answer).header).toMatchObject({ tc: 1, id: 4711 });
    expect(parse(plain!.answer).questions[0]?.name).toBe('wide.example.com');
    const edns = await ask(query('wide.example.com', DNS.Packet.TYPE.A, { edns: true }));
    expect(parse(edns!.answer).header.tc).toBe(0);
    expect(parse(edns!.answer).answers).toHaveLength(40);
  });

  it('answers an ANY query itself as RFC 8482 says, without asking upstream', async () => {
    await start();
    zone.log.length = 0;
    const r = await ask(query('www.example.com', DNS.Packet.TYPE.ANY, { id: 5 }));
    const p = parse(r!.answer);
    expect(p.header).toMatchObject({ id: 5, qr: 1, rcode: 0 });
    expect(p.answers).toHaveLength(1);
    // HINFO: a character-string CPU "RFC8482", an empty OS.
    expect(p.answers[0]).toMatchObject({
      type: 13,
      ttl: 3789,
      data: Buffer.from('\x07RFC8482\x00', 'latin1'),
    });
    expect(zone.log).toEqual([]);
  });

  it('SERVFAIL when no upstream answers, said once in the log', async () => {
    const closed = await freePort();
    await start(`  upstreams: ["127.0.0.1:${closed}"]`);
    for (const name of ['www.example.com', 'x.avcloud.intra2net.com']) {
      const r = await ask(query(name, DNS.Packet.TYPE.A));
      expect(parse(r!.answer).header.rcode).toBe(2);
    }
    expect(logged.filter((l) => /no upstream answers/.test(l))).toEqual([
      `warn: forward: no upstream answers (nothing listens on 127.0.0.1:${closed} (ICMP port unreachable)); clients get SERVFAIL until one does`,
    ]);
  });
});

describe('a network service', () => {
  it('answers REFUSED to a client outside forward.clients', async () => {
    await start('  clients: [127.0.0.1/32]');
    const outside = await ask(query('www.example.com', DNS.Packet.TYPE.A), { from: '127.0.0.2' });
    expect(parse(outside!.answer).header.rcode).toBe(5);
    expect(parse(outside!.answer).answers).toEqual([]);
    const inside = await ask(query('www.example.com', DNS.Packet.TYPE.A));
    expect(parse(inside!.answer).answers.map((a) => a.address)).toEqual(['192.0.2.1']);
  });

  it('drops what is not a query, unanswered, and answers on', async () => {
    await start();
    const response = query('www.example.com', DNS.Packet.TYPE.A);
    response[2] = (response[2] as number) | 0x80;
    const pointer = Buffer.concat([
      query('www.example.com', 1).subarray(0, 12),
      Buffer.from([0xc0, 0x0c, 0, 1, 0, 1]),
    ]);
    const badOpt = query('www.example.com', DNS.Packet.TYPE.A, { edns: true }).subarray(0, -3);
    for (const junk of [Buffer.from('not dns at all'), Buffer.alloc(5), response, pointer, badOpt])
      expect(await ask(junk, { timeoutMs: 300 })).toBeUndefined();
    expect(forwarder!.stats.dropped).toBe(5);
    const r = await ask(query('www.example.com', DNS.Packet.TYPE.A));
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['192.0.2.1']);
  });

  it('a flood from one client: beyond rate_limit it gets REFUSED, and the forwarder answers on', async () => {
    await start('  rate_limit: 50');
    const socket = dgram.createSocket('udp4');
    const rcodes: number[] = [];
    socket.on('message', (m) => rcodes.push(m[3]! & 0x0f));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const message = query('www.example.com', DNS.Packet.TYPE.A);
    for (let i = 0; i < 300; i++) socket.send(message, port, '127.0.0.1');
    await waitUntil(() => rcodes.length === 300);
    socket.close();
    const answered = rcodes.filter((r) => r === 0).length;
    expect(answered).toBeGreaterThanOrEqual(50);
    // The burst took well under a second: at most a few tokens came back meanwhile.
    expect(answered).toBeLessThan(80);
    expect(rcodes.filter((r) => r === 5)).toHaveLength(300 - answered);
    expect(forwarder!.stats.limited).toBe(300 - answered);
  });

  it('bounded memory: queries in flight are capped (SERVFAIL at once beyond the cap)', async () => {
    // An upstream that takes every query and answers none: they stay in flight until they time out.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    silent.setRecvBufferSize(4 * 1024 * 1024);
    await start(
      `  rate_limit: 0\n  upstreams: ["127.0.0.1:${silent.address().port}"]`,
      '',
      '{ timeout: 20s, attempts: 1 }',
    );
    const socket = dgram.createSocket('udp4');
    const rcodes: number[] = [];
    socket.on('message', (m) => rcodes.push(m[3]! & 0x0f));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < IN_FLIGHT + 300; i++) {
      socket.send(query('www.example.com', DNS.Packet.TYPE.A, { id: i & 0xffff }), port, '127.0.0.1');
      // In steps, so that no socket buffer overflows on the way.
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 10));
    }
    const over = () => forwarder!.stats.queries - IN_FLIGHT;
    await waitUntil(() => over() >= 250 && rcodes.length === over());
    expect(rcodes.every((r) => r === 2)).toBe(true);
    expect(forwarder!.stats.servfail).toBe(over());
    socket.close();
    silent.close();
  }, 30_000);

  it('bounded memory: a list learns at most max_learned names; a flood cannot push out names asked within retention', async () => {
    const H = 3_600_000;
    now = Date.parse('2026-11-01T00:00:00Z');
    const config = await start('  max_learned: 2');
    const askAt = async (at: number, n: string, address: string) => {
      now = at;
      zone.set(`${n}.avcloud.intra2net.com`, { a: [address], ttl: 60 });
      await ask(query(`${n}.avcloud.intra2net.com`, DNS.Packet.TYPE.A));
    };
    const T0 = now;
    await askAt(T0, 'a', '203.0.113.50');
    await askAt(T0, 'b', '203.0.113.51');
    // Full of names asked within the list's retention (24 h): a new one is refused, not learned,
    // its address not taken; said once.
    await askAt(T0 + H, 'c', '203.0.113.52');
    await askAt(T0 + H, 'd', '203.0.113.53');
    expect(listed()).toEqual(['203.0.113.50', '203.0.113.51']);
    await waitUntil(() => logged.some((l) => l.includes('not learning')));
    expect(logged.filter((l) => l.includes('not learning'))).toEqual([
      'warn: forward: list av holds 2 learned names, each asked for within its retention (forward.max_learned): not learning c.avcloud.intra2net.com (and others for a minute)',
    ]);
    // A day later a is asked again; b was not asked within the retention: c takes its place.
    await askAt(T0 + 25 * H, 'a', '203.0.113.50');
    await askAt(T0 + 25 * H, 'c', '203.0.113.52');
    await forwarder!.close();
    forwarder = undefined;
    // b stays on record, forgotten: its address ages out through retention, as a forgotten name's does.
    expect(db.prepare('SELECT name FROM learned ORDER BY name').pluck().all()).toEqual([
      'a.avcloud.intra2net.com',
      'b.avcloud.intra2net.com',
      'c.avcloud.intra2net.com',
    ]);
    expect(logged).toContainEqual(
      'warn: forward: list av keeps at most 2 learned names (forward.max_learned): made room by forgetting b.avcloud.intra2net.com, not asked for within its retention',
    );
    const [av] = withLearned(db, [config.lists.get('av') as ListConfig], new Date(now));
    expect(av).toMatchObject({
      learned: ['a.avcloud.intra2net.com', 'c.avcloud.intra2net.com'],
      forgotten: ['b.avcloud.intra2net.com'],
    });
  });
});

describe('the hold', () => {
  it('a hold target that fails: the answer goes at once, logged late, and a sync of the list is asked for', async () => {
    writeFileSync(join(dir.path, 'lists'), 'a file where the folder should be');
    await start('  hold_targets: [out]');
    const started = Date.now();
    const r = await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['203.0.113.7']);
    expect(Date.now() - started).toBeLessThan(150);
    await waitUntil(() => logged.some((l) => /late/.test(l)));
    expect(logged).toContainEqual(
      'warn: forward: late: answered x.avcloud.intra2net.com (203.0.113.7) before target out had it (the target failed)',
    );
    expect(logged.some((l) => /^error: forward: target out: .*ENOTDIR/.test(l))).toBe(true);
    await waitUntil(() => wanted.length > 0);
    expect(wanted).toEqual([['av']]);
  });

  it('a hold target that hangs: the answer goes when the hold runs out, logged late', async () => {
    const nft = join(dir.path, 'nft');
    writeFileSync(nft, '#!/bin/sh\nsleep 3\n', { mode: 0o755 });
    await start(
      '  hold: 150ms\n  hold_targets: [hung]',
      `  hung: {type: nftables, nft: [${nft}], timeout: 1s}\n`,
    );
    const started = Date.now();
    const r = await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    const took = Date.now() - started;
    expect(parse(r!.answer).answers.map((a) => a.address)).toEqual(['203.0.113.7']);
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000);
    await waitUntil(() => logged.some((l) => /late/.test(l)));
    expect(logged).toContainEqual(
      'warn: forward: late: answered x.avcloud.intra2net.com (203.0.113.7) before target hung had it (not confirmed within the 150ms hold)',
    );
  });

  it('an answer that did not wait (hold: 0s, or a target slower than the hold) is audited as such', async () => {
    const nft = join(dir.path, 'nft');
    writeFileSync(nft, `#!/bin/sh\nsleep 0.4\nexec ${ns.nft.join(' ')} "$@"\n`, { mode: 0o755 });
    await start('  hold: 100ms\n  hold_targets: [fw]');
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare("SELECT target, detail FROM audit WHERE address = '203.0.113.7'").all()).toEqual([
      {
        target: 'fw',
        detail: 'learned from the answer forwarded to 127.0.0.1, which went out before the target had it',
      },
    ]);
    db.close();
    dir.cleanup();
    dir = tempDir();
    table = `fwd${++tables}`;
    writeFileSync(join(dir.path, 'nft'), `#!/bin/sh\nexec ${ns.nft.join(' ')} "$@"\n`, { mode: 0o755 });
    await start('  hold: 0s\n  hold_targets: [out]');
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await forwarder!.close();
    forwarder = undefined;
    expect(db.prepare("SELECT target, detail FROM audit WHERE address = '203.0.113.7'").all()).toEqual([
      {
        target: 'out',
        detail: 'learned from the answer forwarded to 127.0.0.1, which went out before the target had it',
      },
    ]);
  });

  it('answering never waits on a sync beyond the hold; the addition follows once the sync is done, recorded once', async () => {
    const gate = new KeyedLock();
    await start('  hold: 100ms');
    await forwarder!.close();
    forwarder = await Forwarder.start(
      parseConfig(
        readFileSync(join(dir.path, 'dnsfence.yaml'), 'utf8'),
        join(dir.path, 'dnsfence.yaml'),
        TARGET_TYPES,
      ),
      { db, gate, clock: () => new Date(), log, wantSync: () => undefined },
    );
    // A sync holds the target.
    const release = await gate.acquire('out');
    const started = Date.now();
    const r = await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A), { atAnswer: listed });
    expect(Date.now() - started).toBeLessThan(500);
    expect(r!.seen).toEqual([]);
    release();
    await waitUntil(() => listed().includes('203.0.113.7'));
    await forwarder.close();
    forwarder = undefined;
    expect(
      db
        .prepare("SELECT target, count(*) AS n FROM audit WHERE address = '203.0.113.7' GROUP BY target")
        .all(),
    ).toEqual([
      { target: 'fw', n: 1 },
      { target: 'out', n: 1 },
    ]);
  });

  it('a target that cannot hold answers gets the address from a sync asked for a second later, once', async () => {
    await start('  hold_targets: []');
    const started = Date.now();
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    expect(Date.now() - started).toBeLessThan(150);
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await waitUntil(() => wanted.length > 0);
    expect(wanted).toEqual([['av']]);
    // The answer is recorded before the sync is asked for, so that the sync finds the address.
    expect(db.prepare('SELECT address FROM presence').pluck().all()).toEqual(['203.0.113.7']);
    // The same address again (the sync has not brought it there yet): no new sync asked for.
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await new Promise((r) => setTimeout(r, 1200));
    expect(wanted).toEqual([['av']]);
  });

  it('concurrent answers share one transaction of the target', async () => {
    const nft = join(dir.path, 'nft');
    writeFileSync(nft, `#!/bin/sh\necho "$@" >> ${join(dir.path, 'nft.log')}\ncat > /dev/null\n`, {
      mode: 0o755,
    });
    await start('  hold_targets: [counted]', `  counted: {type: nftables, nft: [${nft}]}\n`);
    const names = Array.from({ length: 20 }, (_, i) => `n${i}.avcloud.intra2net.com`);
    names.forEach((n, i) => zone.set(n, { a: [`203.0.113.${100 + i}`], ttl: 60 }));
    await Promise.all(names.map((n) => ask(query(n, DNS.Packet.TYPE.A))));
    const calls = readFileSync(join(dir.path, 'nft.log'), 'utf8').trim().split('\n');
    // Answers that arrive together go in one transaction; one more for what arrived during it.
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(forwarder!.stats.late).toBe(0);
  });
});

async function askTcp(message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        socket.destroy();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    const frame = Buffer.alloc(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    socket.write(frame);
  });
}

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('learned names over time (a simulated clock)', () => {
  const H = 3_600_000;
  const T0 = Date.parse('2026-11-01T00:00:00Z');
  const sync = (config: Config, preview = false) =>
    runSync(config, db, { command: 'test', preview, force: false, clock });
  const asked = () => zone.log.filter((l) => l.includes('x.avcloud'));
  const changes = (r: SyncResult) =>
    r.targets
      .filter((t) => t.target === 'out')
      .flatMap((t) => t.push?.applied ?? [])
      .map((c) => `${c.action} ${c.address} ${c.reason}`);

  it('plan and sync resolve a learned name while within retention of its last query, then forget it; its addresses age out', async () => {
    now = T0;
    const config = await start('', '', '{ timeout: 1s, attempts: 1, families: [ipv4] }', 'retention: 2h\n');
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await forwarder!.close();
    forwarder = undefined;
    zone.set('x.avcloud.intra2net.com', { a: ['203.0.113.8'], ttl: 60 });
    now = T0 + 1 * H;
    zone.log.length = 0;
    const plan = await sync(config, true);
    expect(plan.lookups.map((l) => l.name)).toEqual(['update.example.net', 'x.avcloud.intra2net.com']);
    expect(changes(await sync(config))).toEqual(['added 203.0.113.8 dns']);
    expect(asked()).toEqual(['udp x.avcloud.intra2net.com A', 'udp x.avcloud.intra2net.com A']);
    // Two hours after its last query the name is forgotten: not asked any more.
    now = T0 + 2.5 * H;
    zone.log.length = 0;
    expect(changes(await sync(config))).toEqual(['removed 203.0.113.7 expired']);
    expect(asked()).toEqual([]);
    expect(listed()).toEqual(['203.0.113.8']);
    // Its last address goes two hours after it was last seen.
    now = T0 + 3.5 * H;
    expect(changes(await sync(config))).toEqual(['removed 203.0.113.8 expired']);
    expect(listed()).toEqual(['']);
  });

  it('a query keeps it: asked again through the forwarder, the name is resolved for another retention', async () => {
    now = T0;
    const config = await start('', '', '{ timeout: 1s, attempts: 1, families: [ipv4] }', 'retention: 2h\n');
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    now = T0 + 1.5 * H;
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await forwarder!.close();
    forwarder = undefined;
    now = T0 + 3 * H;
    zone.log.length = 0;
    await sync(config);
    expect(asked()).toEqual(['udp x.avcloud.intra2net.com A']);
    expect(db.prepare('SELECT first_learned, last_queried FROM learned').get()).toEqual({
      first_learned: new Date(T0).toISOString(),
      last_queried: new Date(T0 + 1.5 * H).toISOString(),
    });
  });

  it('a name asked again and again is written at most once a minute while its answer stays the same', async () => {
    now = T0;
    await start();
    const lastAsked = () => db.prepare('SELECT last_queried FROM learned').pluck().get();
    const lastSeen = () => db.prepare('SELECT last_seen FROM presence_intervals ORDER BY id').pluck().all();
    const askAt = async (ms: number) => {
      now = T0 + ms;
      await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
      (forwarder as unknown as { recorder: { flush(): void } }).recorder.flush();
    };
    const intervals = () => db.prepare('SELECT * FROM presence ORDER BY id').all();
    await askAt(0);
    await askAt(30_000);
    expect(lastAsked()).toBe(new Date(T0).toISOString());
    expect(lastSeen()).toEqual([new Date(T0).toISOString()]);
    const open = intervals();
    await askAt(61_000);
    expect(lastAsked()).toBe(new Date(T0 + 61_000).toISOString());
    expect(lastSeen()).toEqual([new Date(T0 + 61_000).toISOString()]);
    // The same answer again moved the end of its interval without writing it: the lookup holds it.
    expect(intervals()).toEqual(open);
    // A changed answer is written at once.
    zone.set('x.avcloud.intra2net.com', { a: ['203.0.113.8'], ttl: 60 });
    await askAt(62_000);
    expect(lastSeen()).toEqual([new Date(T0 + 61_000).toISOString(), new Date(T0 + 62_000).toISOString()]);
  });

  it('watch re-resolves a learned name on its TTL, and stops once it is forgotten', async () => {
    now = T0;
    const config = await start('', '', '{ timeout: 1s, attempts: 1, families: [ipv4] }', 'retention: 2h\n');
    await ask(query('x.avcloud.intra2net.com', DNS.Packet.TYPE.A));
    await forwarder!.close();
    forwarder = undefined;
    const asked: number[] = [];
    const push = zone.log.push.bind(zone.log);
    zone.log.push = (...lines: string[]) => {
      if (lines.some((l) => l.includes('x.avcloud'))) asked.push(now as number);
      return push(...lines);
    };
    const until = T0 + 4 * H;
    const watcher = new Watcher(config, db, {
      minIntervalMs: 5 * 60_000,
      maxIntervalMs: H,
      driftIntervalMs: H,
      clock,
      log: silentLogger,
      reload: () => config,
      sleep: async (ms) => {
        now = (now as number) + ms;
        if ((now as number) >= until) watcher.stop();
      },
    });
    try {
      await watcher.run();
    } finally {
      zone.log.push = push;
    }
    expect(asked.length).toBeGreaterThan(10);
    // Every few minutes while the name was asked for within retention; never after.
    expect(Math.max(...asked)).toBeLessThanOrEqual(T0 + 2 * H);
    expect(Math.max(...asked)).toBeGreaterThan(T0 + 1.8 * H);
  });
});
