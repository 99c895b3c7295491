import dgram from 'node:dgram';
import net from 'node:net';
import type { Endpoint } from '../config/types.js';
import { errnoText } from '../errno.js';
import { clientAddress } from './clients.js';

export type Via = 'udp' | 'tcp';

/** Takes one query; `send` answers it (at most once). A query not answered is never sent. */
export type Handler = (message: Buffer, client: string, via: Via, send: (answer: Buffer) => void) => void;

export interface Listening {
  endpoint: Endpoint;
  close(): Promise<void>;
}

/** RFC 7766: a server closes a connection idle this long. */
const TCP_IDLE_MS = 10_000;
/** TCP connections per endpoint; more are closed at once (each holds memory and a descriptor). */
const TCP_CONNECTIONS = 512;
/** TCP connections from one address: one host must not take every slot from the rest. */
const TCP_PER_ADDRESS = 32;
/**
 * Answers waiting to be written to a client that does not read them: beyond this the connection
 * is closed, or a client that stops reading would have them pile up in memory.
 */
const TCP_UNREAD = 256 * 1024;
/** The largest message a TCP frame's two-byte length can carry. */
export const TCP_LARGEST = 0xffff;
/** A burst of datagrams waits in the socket's buffer while the event loop is busy. */
const UDP_BUFFER = 4 * 1024 * 1024;

/**
 * UDP and TCP on one address and port (port 0: a free one, the same for both; the demo's). Rejects
 * with one line naming the address when either cannot be bound (taken, not an address of this
 * host, a port below 1024 without the capability).
 */
export async function listenOn(asked: Endpoint, handler: Handler): Promise<Listening> {
  const udp = await bindUdp(asked, handler).catch((err: unknown) => {
    throw new Error(bindFailure(asked, 'UDP', err), { cause: err });
  });
  const port = udp.address().port;
  const endpoint =
    asked.port === port
      ? asked
      : {
          ...asked,
          port,
          label: asked.host.includes(':') ? `[${asked.host}]:${port}` : `${asked.host}:${port}`,
        };
  let tcp: TcpListener;
  try {
    tcp = await listenTcp(endpoint, handler);
  } catch (err) {
    udp.close();
    throw new Error(bindFailure(endpoint, 'TCP', err), { cause: err });
  }
  return {
    endpoint,
    close: async () => {
      udp.close();
      await tcp.close();
    },
  };
}

function bindFailure(endpoint: Endpoint, what: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' && endpoint.port < 1024
      ? ' (a port below 1024 needs root or CAP_NET_BIND_SERVICE; dnsfence systemd --watch adds it)'
      : code === 'EADDRINUSE'
        ? ' (another DNS server listens there: systemd-resolved, dnsmasq, another watch?)'
        : code === 'EADDRNOTAVAIL'
          ? ' (not an address of this host)'
          : '';
  return `cannot listen on ${endpoint.label} (${what}): ${errnoText(err)}${hint}`;
}

function bindUdp(endpoint: Endpoint, handler: Handler): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: endpoint.host.includes(':') ? 'udp6' : 'udp4' });
    socket.once('error', reject);
    let open = true;
    socket.once('close', () => (open = false));
    socket.on('message', (message, from) =>
      handler(message, clientAddress(from.address), 'udp', (answer) => {
        // An answer that comes after the socket closed (upstreams closing at a stop) has no one to go to.
        if (open) socket.send(answer, from.port, from.address, ignore);
      }),
    );
    socket.bind(endpoint.port, endpoint.host, () => {
      socket.off('error', reject);
      // A send to a client gone away, an ICMP error: nothing to do about it, nothing to stop for.
      socket.on('error', ignore);
      try {
        socket.setRecvBufferSize(UDP_BUFFER);
      } catch {
        // the system's maximum applies
      }
      resolve(socket);
    });
  });
}

const ignore = () => undefined;

interface TcpListener {
  close(): Promise<void>;
}

/** DNS over TCP (RFC 7766): length-prefixed messages, pipelined, answered in any order. */
function listenTcp(endpoint: Endpoint, handler: Handler): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const perAddress = new Map<string, number>();
  const server = net.createServer((socket) => {
    const client = clientAddress(socket.remoteAddress ?? '');
    const open = perAddress.get(client) ?? 0;
    if (sockets.size >= TCP_CONNECTIONS || open >= TCP_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    perAddress.set(client, open + 1);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', ignore);
    socket.on('close', () => {
      sockets.delete(socket);
      const left = (perAddress.get(client) ?? 1) - 1;
      if (left > 0) perAddress.set(client, left);
      else perAddress.delete(client);
      clearTimeout(partial);
    });
    const send = (answer: Buffer) => {
      if (socket.destroyed || !socket.writable) return;
      // Never thrown from here: a frame cannot carry more (the forwarder answers SERVFAIL instead).
      if (answer.length > TCP_LARGEST || socket.writableLength > TCP_UNREAD) {
        socket.destroy();
        return;
      }
      const frame = Buffer.allocUnsafe(2 + answer.length);
      frame.writeUInt16BE(answer.length, 0);
      answer.copy(frame, 2);
      socket.write(frame);
    };
    let buffered: Buffer = Buffer.alloc(0);
    // A message begun must be whole within the idle time, however slowly its bytes trickle in.
    let partial: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        // A copy: the message outlives this chunk while it is forwarded.
        const message = Buffer.from(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        handler(message, client, 'tcp', send);
      }
      if (buffered.length === 0) {
        clearTimeout(partial);
        partial = undefined;
      } else partial ??= setTimeout(() => socket.destroy(), TCP_IDLE_MS);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: endpoint.port, host: endpoint.host, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
