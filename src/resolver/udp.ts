import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { decodeResponse, encodeQuery, peekId, withFreeId, type Query } from './message.js';
import type { ResolverSpec } from './servers.js';
import { timedOut, type Exchange, type Transport } from './transport.js';

interface Pending {
  server: ResolverSpec;
  query: Query;
  finish(result: Exchange): void;
  /** Set when the server sent something for this ID that could not be decoded. */
  garbage?: string;
}

/**
 * DNS over UDP on a small pool of long-lived sockets. Each query gets a random ID and a random
 * socket (so a random source port); an answer counts only when it comes from the server's
 * address and port and carries the query's ID and question. Anything else is dropped.
 */
export class UdpTransport implements Transport {
  private readonly sockets = new Map<string, { socket: dgram.Socket; pending: Map<number, Pending> }[]>();

  constructor(private readonly poolSize = 4) {}

  private pool(type: 'udp4' | 'udp6') {
    let pool = this.sockets.get(type);
    if (!pool) {
      pool = [];
      for (let i = 0; i < this.poolSize; i++) {
        const socket = dgram.createSocket(type);
        const pending = new Map<number, Pending>();
        socket.on('message', (buf, rinfo) => this.receive(pending, buf, rinfo));
        // An ICMP unreachable surfaces as an error on some systems; the query then times out.
        socket.on('error', () => undefined);
        socket.unref();
        pool.push({ socket, pending });
      }
      this.sockets.set(type, pool);
    }
    return pool;
  }

  private receive(pending: Map<number, Pending>, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const id = peekId(buf);
    const p = id === undefined ? undefined : pending.get(id);
    if (!p || rinfo.address !== p.server.host || rinfo.port !== p.server.port) {
      if (!p && !looksLikeResponse(buf)) {
        // Undecodable bytes from a server we are waiting on: remember, report if nothing valid follows.
        for (const other of pending.values()) {
          if (rinfo.address === other.server.host && rinfo.port === other.server.port) {
            other.garbage = `undecodable answer of ${buf.length} bytes from ${other.server.label}`;
          }
        }
      }
      return;
    }
    const decoded = decodeResponse(buf, p.query);
    if (decoded.kind === 'mismatch') return;
    if (decoded.kind === 'malformed') {
      p.finish({ kind: 'failed', outcome: 'malformed', detail: `${decoded.detail} from ${p.server.label}` });
      return;
    }
    p.finish(decoded.packet.header.tc ? { kind: 'truncated' } : { kind: 'packet', packet: decoded.packet });
  }

  exchange(server: ResolverSpec, asked: Query, timeoutMs: number): Promise<Exchange> {
    const pool = this.pool(server.host.includes(':') ? 'udp6' : 'udp4');
    const slot = pool[randomInt(pool.length)]!;
    const query = withFreeId(asked, slot.pending, () => randomInt(0x10000));
    return new Promise<Exchange>((resolve) => {
      const entry: Pending = {
        server,
        query,
        finish: (result) => {
          clearTimeout(timer);
          slot.pending.delete(query.id);
          resolve(result);
        },
      };
      const timer = setTimeout(() => {
        entry.finish(
          entry.garbage
            ? { kind: 'failed', outcome: 'malformed', detail: entry.garbage }
            : timedOut(server, timeoutMs),
        );
      }, timeoutMs);
      slot.pending.set(query.id, entry);
      slot.socket.send(encodeQuery(query), server.port, server.host, (err) => {
        if (err)
          entry.finish({
            kind: 'failed',
            outcome: 'timeout',
            detail: `cannot send to ${server.label}: ${err.message}`,
          });
      });
    });
  }

  async close(): Promise<void> {
    for (const pool of this.sockets.values()) {
      for (const { socket, pending } of pool) {
        for (const p of pending.values())
          p.finish({ kind: 'failed', outcome: 'timeout', detail: 'resolver closed' });
        socket.close();
      }
    }
    this.sockets.clear();
  }
}

/** A DNS response has QR set and exactly one question; anything else from a server is garbage. */
function looksLikeResponse(buf: Buffer): boolean {
  return buf.length >= 12 && ((buf[2] as number) & 0x80) !== 0 && buf.readUInt16BE(4) === 1;
}
