import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, type Listening } from '../src/forward/server.js';
import { freePort } from './helpers.js';

// The forwarder's sockets alone, with handlers that answer as a test needs: what one TCP client
// can make the server hold, and what it cannot.

let listening: Listening | undefined;
afterEach(async () => {
  await listening?.close();
  listening = undefined;
});

async function serve(answer: (message: Buffer) => Buffer): Promise<number> {
  const port = await freePort();
  listening = await listenOn({ host: '127.0.0.1', port, label: `127.0.0.1:${port}` }, (m, _c, _v, send) =>
    send(answer(m)),
  );
  return port;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket) =>
  new Promise<void>((resolve) => {
    if (s.destroyed || s.readyState === 'closed') resolve();
    s.once('close', () => resolve());
  });

const frame = (body: Buffer) => Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]);

describe('the forwarder over TCP', () => {
  it('a client that stops reading is closed once its unread answers pass 256 KiB', async () => {
    const port = await serve(() => Buffer.alloc(60_000, 1));
    const s = await connect(port);
    s.on('error', () => undefined);
    s.pause();
    // 12 MB of answers asked for; the kernel's buffers take a few MB, the rest would wait in the server.
    for (let i = 0; i < 200; i++) s.write(frame(Buffer.from([i, 0, 0, 0])));
    await new Promise((r) => setTimeout(r, 1000));
    // Reading again: what the kernel kept arrives, then the end the server put on the connection.
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    s.resume();
    await closed(s);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(200 * 60_002);
  }, 20_000);

  it('an answer too large for a TCP frame closes the connection; the server goes on answering', async () => {
    const port = await serve((m) => (m[0] === 1 ? Buffer.alloc(70_000) : Buffer.from('ok')));
    const big = await connect(port);
    big.on('error', () => undefined);
    big.write(frame(Buffer.from([1])));
    await closed(big);
    const next = await connect(port);
    const got = new Promise<Buffer>((resolve) => next.once('data', resolve));
    next.write(frame(Buffer.from([2])));
    expect((await got).subarray(2).toString()).toBe('ok');
    next.destroy();
  });

  it('one address gets at most 32 connections; the 33rd is closed at once', async () => {
    const port = await serve(() => Buffer.from('ok'));
    const open = await Promise.all(Array.from({ length: 32 }, () => connect(port)));
    // Accepted by the server (not only by the kernel's backlog): each answers.
    for (const s of open) {
      const got = new Promise<Buffer>((resolve) => s.once('data', resolve));
      s.write(frame(Buffer.from([0])));
      expect((await got).subarray(2).toString()).toBe('ok');
    }
    const extra = await connect(port);
    extra.on('error', () => undefined);
    // At once, not after the 10 s idle time.
    const outcome = await Promise.race([
      closed(extra).then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still open'), 2000)),
    ]);
    expect(outcome).toBe('closed');
    for (const s of open) s.destroy();
  });
});
