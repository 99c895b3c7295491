import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import type { TestZoneServer } from './fakes/dns.js';
import DNS from 'dns2';
import { forwardedQuery, newQuery } from '../src/resolver/message.js';
import { Resolver } from '../src/resolver/resolver.js';
import type { ResolverSpec } from '../src/config/resolver-spec.js';
import { TcpTransport } from '../src/resolver/tcp.js';
import { exchange } from '../src/resolver/transport.js';
import { UdpTransport } from '../src/resolver/udp.js';
import { startZone } from './helpers.js';

let zone: TestZoneServer;
let spec: ResolverSpec;
let resolver: Resolver;

beforeAll(async () => {
  ({ zone, spec } = await startZone());
  zone.set('www.example.com', { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 120 });
  zone.set('alias.example.com', { cname: 'www.example.com', ttl: 60 });
  zone.set('v4only.example.com', { a: ['192.0.2.3'] });
  zone.set('servfail.example.com', { behaviour: 'servfail' });
  zone.set('refused.example.com', { behaviour: 'refused' });
  zone.set('silent.example.com', { behaviour: 'drop' });
  zone.set('garbage.example.com', { behaviour: 'garbage' });
  zone.set('big.example.com', {
    behaviour: 'truncate',
    a: Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`),
  });
  zone.set('spoofed.example.com', { behaviour: 'wrong-id', a: ['203.0.113.66'] });
  zone.set('loop1.example.com', { cname: 'loop2.example.com' });
  zone.set('loop2.example.com', { cname: 'loop1.example.com' });
  for (let i = 0; i < 12; i++) zone.set(`chain${i}.example.com`, { cname: `chain${i + 1}.example.com` });
  zone.set('chain12.example.com', { a: ['192.0.2.12'] });
  resolver = new Resolver({ servers: [spec], timeoutMs: 300, attempts: 1, concurrency: 8 });
});

afterAll(async () => {
  await resolver.close();
  await zone.stop();
});

describe('resolver', () => {
  it('returns A and AAAA answers with their TTL and the resolver used', async () => {
    const v4 = await resolver.lookup('www.example.com', 'ipv4');
    expect(v4.outcome).toBe('answer');
    expect(v4.addresses.map((a) => a.address).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(v4.ttl).toBe(120);
    expect(v4.resolver).toBe(spec.label);
    const v6 = await resolver.lookup('www.example.com', 'ipv6');
    expect(v6.addresses).toEqual([{ address: '2001:db8::1', ttl: 120 }]);
  });

  it('follows a CNAME chain and records it; the TTL is the smallest along the chain', async () => {
    const r = await resolver.lookup('alias.example.com', 'ipv4');
    expect(r.outcome).toBe('answer');
    expect(r.chain).toEqual(['alias.example.com', 'www.example.com']);
    expect(r.ttl).toBe(60);
  });

  it('tells NXDOMAIN from NODATA', async () => {
    expect((await resolver.lookup('missing.example.com', 'ipv4')).outcome).toBe('nxdomain');
    expect((await resolver.lookup('v4only.example.com', 'ipv6')).outcome).toBe('nodata');
  });

  it('reports SERVFAIL, REFUSED, silence and garbage as failures, never throwing', async () => {
    expect((await resolver.lookup('servfail.example.com', 'ipv4')).outcome).toBe('servfail');
    expect((await resolver.lookup('refused.example.com', 'ipv4')).outcome).toBe('refused');
    const silent = await resolver.lookup('silent.example.com', 'ipv4');
    expect(silent.outcome).toBe('timeout');
    expect(silent.detail).toContain(spec.label);
    expect((await resolver.lookup('garbage.example.com', 'ipv4')).outcome).toBe('malformed');
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const before = zone.log.filter((l) => l.startsWith('tcp big.example.com')).length;
    const r = await resolver.lookup('big.example.com', 'ipv4');
    expect(r.outcome).toBe('answer');
    expect(r.addresses).toHaveLength(100);
    expect(zone.log.filter((l) => l.startsWith('tcp big.example.com')).length).toBe(before + 1);
  });

  it('ignores an answer whose ID does not match the query', async () => {
    const r = await resolver.lookup('spoofed.example.com', 'ipv4');
    expect(r.outcome).toBe('timeout');
  });

  it('ignores answers for another question, even with the right ID', async () => {
    // A forger that sees the query ID but answers a different name must not be believed.
    const fake = dgram.createSocket('udp4');
    await new Promise<void>((r) => fake.bind(0, '127.0.0.1', () => r()));
    const port = fake.address().port;
    fake.on('message', (msg, rinfo) => {
      const reply = Buffer.from(msg);
      reply[2] = 0x81; // QR + RD
      reply[3] = 0x80;
      // rewrite the first label's first letter: same ID, other question
      reply[13] = 'x'.charCodeAt(0);
      fake.send(reply, rinfo.port, rinfo.address);
    });
    const r2 = new Resolver({
      servers: [{ protocol: 'udp', host: '127.0.0.1', port, label: `fake:${port}` }],
      timeoutMs: 200,
      attempts: 1,
      concurrency: 1,
    });
    expect((await r2.lookup('www.example.com', 'ipv4')).outcome).toBe('timeout');
    await r2.close();
    fake.close();
  });

  it('detects CNAME loops and chains longer than 8', async () => {
    const loop = await resolver.lookup('loop1.example.com', 'ipv4');
    expect(loop.outcome).toBe('malformed');
    expect(loop.detail).toMatch(/CNAME loop/);
    const long = await resolver.lookup('chain0.example.com', 'ipv4');
    expect(long.outcome).toBe('malformed');
    expect(long.detail).toMatch(/longer than 8/);
    const ok = await resolver.lookup('chain5.example.com', 'ipv4');
    expect(ok.outcome).toBe('answer');
    expect(ok.chain).toHaveLength(8);
  });

  it('fails over to the next resolver when the first does not answer', async () => {
    const dead: ResolverSpec = { protocol: 'udp', host: '127.0.0.1', port: 9, label: '127.0.0.1:9' };
    const r2 = new Resolver({ servers: [dead, spec], timeoutMs: 200, attempts: 1, concurrency: 4 });
    const r = await r2.lookup('www.example.com', 'ipv4');
    expect(r.outcome).toBe('answer');
    expect(r.resolver).toBe(spec.label);
    await r2.close();
  });

  it('speaks TCP to tcp:// resolvers, reusing one connection', async () => {
    const r2 = new Resolver({
      servers: [{ ...spec, protocol: 'tcp', label: `tcp://${spec.host}:${spec.port}` }],
      timeoutMs: 500,
      attempts: 1,
      concurrency: 4,
    });
    const results = await Promise.all(
      ['www.example.com', 'alias.example.com', 'missing.example.com'].map((n) => r2.lookup(n, 'ipv4')),
    );
    expect(results.map((r) => r.outcome)).toEqual(['answer', 'answer', 'nxdomain']);
    await r2.close();
  });

  it('gives queries that meet on one socket or connection with the same ID distinct IDs, without changing them', async () => {
    const tcpSpec: ResolverSpec = { ...spec, protocol: 'tcp', label: `tcp://${spec.host}:${spec.port}` };
    for (const [transport, server] of [
      [new UdpTransport(1), spec],
      [new TcpTransport(), tcpSpec],
    ] as const) {
      const queries = [
        newQuery('www.example.com', 'A'),
        newQuery('v4only.example.com', 'A'),
        newQuery('alias.example.com', 'A'),
      ].map((q) => ({ ...q, id: 7 }));
      const exchanges = await Promise.all(queries.map((q) => exchange(transport, server, q, 1000)));
      const answered = exchanges.map((e) => {
        if (e.kind !== 'packet') throw new Error(`${server.label}: ${e.kind}`);
        return { id: e.packet.id, name: e.packet.question?.name };
      });
      expect(answered.map((a) => a.name)).toEqual(queries.map((q) => q.name));
      expect(new Set(answered.map((a) => a.id)).size).toBe(3);
      expect(queries.map((q) => q.id)).toEqual([7, 7, 7]);
      await transport.close();
    }
  });

  it('forwards a message as its client wrote it but for the ID, over UDP and TCP, and hands the answer back as bytes, truncated or not', async () => {
    const tcpSpec: ResolverSpec = { ...spec, protocol: 'tcp', label: `tcp://${spec.host}:${spec.port}` };
    const ask = (name: string) => {
      const packet = new DNS.Packet();
      packet.header.id = 4242;
      packet.header.rd = 1;
      packet.questions.push(new DNS.Packet.Question(name, DNS.Packet.TYPE.A, DNS.Packet.CLASS.IN));
      return packet.toBuffer();
    };
    for (const [transport, server] of [
      [new UdpTransport(1), spec],
      [new TcpTransport(), tcpSpec],
    ] as const) {
      const message = ask('WWW.Example.com');
      const query = forwardedQuery(message);
      const before = zone.log.length;
      const e = await exchange(transport, server, query, 1000);
      if (e.kind !== 'message') throw new Error(`${server.label}: ${e.kind}`);
      // The server saw the client's question (its case too) under dnsfence's own ID.
      expect(zone.log.slice(before)).toEqual([`${server.protocol} WWW.Example.com A`]);
      const answer = DNS.Packet.parse(e.message);
      expect(answer.header.id).toBe(query.id);
      expect(answer.answers.map((a) => a.address).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
      // The client's own message is left as it was.
      expect(message.readUInt16BE(0)).toBe(4242);
      await transport.close();
    }
    const udp = new UdpTransport(1);
    const truncated = await exchange(udp, spec, forwardedQuery(ask('big.example.com')), 1000);
    if (truncated.kind !== 'message') throw new Error(truncated.kind);
    expect(DNS.Packet.parse(truncated.message).header.tc).toBe(1);
    // An answer under another ID is not taken: the query times out.
    const spoofed = await exchange(udp, spec, forwardedQuery(ask('spoofed.example.com')), 300);
    expect(spoofed).toMatchObject({ kind: 'failed', outcome: 'timeout' });
    await udp.close();
    // Nor is one under the right ID for another question.
    const liar = dgram.createSocket('udp4');
    liar.on('message', (msg, from) => {
      const other = DNS.Packet.parse(ask('other.example.com'));
      other.header.id = msg.readUInt16BE(0);
      other.header.qr = 1;
      liar.send(other.toBuffer(), from.port, from.address);
    });
    await new Promise<void>((r) => liar.bind(0, '127.0.0.1', () => r()));
    const port = liar.address().port;
    const lied = new UdpTransport(1);
    const answer = await exchange(
      lied,
      { protocol: 'udp', host: '127.0.0.1', port, label: `127.0.0.1:${port}` },
      forwardedQuery(ask('www.example.com')),
      300,
    );
    expect(answer).toMatchObject({ kind: 'failed', outcome: 'timeout' });
    await lied.close();
    liar.close();
  });

  it('reports a refused TCP connection as refused', async () => {
    const r2 = new Resolver({
      servers: [{ protocol: 'tcp', host: '127.0.0.1', port: 9, label: 'tcp://127.0.0.1:9' }],
      timeoutMs: 500,
      attempts: 1,
      concurrency: 1,
    });
    const r = await r2.lookup('www.example.com', 'ipv4');
    expect(r.outcome).toBe('refused');
    expect(r.detail).toMatch(/connection refused/);
    await r2.close();
  });

  it('reports a closed UDP port as refused (ICMP port unreachable) at once, not as a timeout', async () => {
    const r2 = new Resolver({
      servers: [{ protocol: 'udp', host: '127.0.0.1', port: 9, label: '127.0.0.1:9' }],
      timeoutMs: 5000,
      attempts: 2,
      concurrency: 4,
    });
    const started = Date.now();
    const r = await r2.lookup('www.example.com', 'ipv4');
    expect(r.outcome).toBe('refused');
    expect(r.detail).toBe('nothing listens on 127.0.0.1:9 (ICMP port unreachable) (2 attempts)');
    expect(Date.now() - started).toBeLessThan(2000);
    await r2.close();
  });

  it('ends the lookups of a closed resolver, also those whose queries were not sent yet', async () => {
    const r2 = new Resolver({ servers: [spec], timeoutMs: 2000, attempts: 1, concurrency: 8 });
    // Connected sockets first: new queries then wait for the end of the event loop's turn.
    await Promise.all(Array.from({ length: 8 }, () => r2.lookup('www.example.com', 'ipv4')));
    const lookups = Array.from({ length: 8 }, () => r2.lookup('www.example.com', 'ipv4'));
    await r2.close();
    const results = await Promise.all(lookups);
    expect(results.map((r) => r.detail)).toEqual(Array(8).fill('resolver closed'));
    // Nothing is sent after the close (a send on a closed socket would throw in a later tick).
    await new Promise((r) => setTimeout(r, 50));
  });

  it('bounds the number of queries in flight', async () => {
    zone.set('slow.example.com', { a: ['192.0.2.50'], delayMs: 100 });
    const r2 = new Resolver({ servers: [spec], timeoutMs: 2000, attempts: 1, concurrency: 2 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => r2.lookup('slow.example.com', 'ipv4')));
    // 6 queries, 2 at a time, 100 ms each: at least three rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await r2.close();
  });
});
