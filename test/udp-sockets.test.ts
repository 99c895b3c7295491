import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseResolver, type ResolverSpec } from '../src/config/resolver-spec.js';
import { newQuery } from '../src/resolver/message.js';
import type { Exchange } from '../src/resolver/transport.js';
import { UdpTransport } from '../src/resolver/udp.js';

// The UDP transport's sockets, seen from a server on 127.0.0.1 that notes each query's source
// port and answers it (NODATA: the query sent back as a response).

let server: dgram.Socket | undefined;
let transport: UdpTransport | undefined;
afterEach(async () => {
  await transport?.close();
  server?.close();
  transport = undefined;
  server = undefined;
});

async function start(): Promise<{ spec: ResolverSpec; ports: number[] }> {
  const ports: number[] = [];
  server = dgram.createSocket('udp4');
  server.on('message', (m, from) => {
    ports.push(from.port);
    const answer = Buffer.from(m);
    answer[2] = (answer[2] as number) | 0x80; // QR
    answer[3] = 0x80; // RA, NOERROR
    server?.send(answer, from.port, from.address);
  });
  await new Promise<void>((resolve) => server?.bind(0, '127.0.0.1', resolve));
  const spec = parseResolver(`127.0.0.1:${server.address().port}`) as ResolverSpec;
  return { spec, ports };
}

const ask = (t: UdpTransport, spec: ResolverSpec, name: string) =>
  new Promise<Exchange>((resolve) => t.send(spec, newQuery(name, 'A'), 2000, resolve));

describe('UDP sockets', () => {
  it('with recycleAfter, a socket is replaced by one on another port after that many queries', async () => {
    const { spec, ports } = await start();
    transport = new UdpTransport(1, 3);
    for (let i = 0; i < 9; i++) expect((await ask(transport, spec, `n${i}.example.com`)).kind).toBe('packet');
    // One socket at a time, three queries each: three ports, each used three times in a row.
    expect(new Set(ports).size).toBe(3);
    expect(ports.slice(0, 3).every((p) => p === ports[0])).toBe(true);
    expect(ports[3]).not.toBe(ports[0]);
  });

  it('without it, the sockets keep their ports', async () => {
    const { spec, ports } = await start();
    transport = new UdpTransport(1);
    for (let i = 0; i < 9; i++) await ask(transport, spec, `n${i}.example.com`);
    expect(new Set(ports).size).toBe(1);
  });
});
