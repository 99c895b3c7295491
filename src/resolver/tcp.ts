import net from 'node:net';
import { decodeResponse, encodeQuery, peekId, withFreeId, type Query } from './message.js';
import type { ResolverSpec } from './servers.js';
import { timedOut, type Exchange, type Transport } from './transport.js';

/** RFC 7766: keep an idle connection a little while for the next query, then let it go. */
const IDLE_MS = 5000;

interface Connection {
  socket: net.Socket;
  pending: Map<number, { query: Query; finish(result: Exchange): void }>;
  buffered: Buffer;
  idle?: NodeJS.Timeout;
}

/**
 * DNS over TCP, one connection per server reused for pipelined queries (matched by ID and
 * question), each with its own timeout. dns2's own TCP client has neither.
 */
export class TcpTransport implements Transport {
  private readonly connections = new Map<string, Connection>();

  private connect(server: ResolverSpec): Connection {
    const key = `${server.host}|${server.port}`;
    const existing = this.connections.get(key);
    if (existing && !existing.socket.destroyed) return existing;
    const socket = net.connect({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    const conn: Connection = { socket, pending: new Map(), buffered: Buffer.alloc(0) };
    const failAll = (detail: string, outcome: 'timeout' | 'refused' | 'malformed' = 'timeout') => {
      for (const p of [...conn.pending.values()]) p.finish({ kind: 'failed', outcome, detail });
      conn.pending.clear();
      if (this.connections.get(key) === conn) this.connections.delete(key);
    };
    socket.on('data', (chunk) => {
      conn.buffered = Buffer.concat([conn.buffered, chunk]);
      while (conn.buffered.length >= 2) {
        const len = conn.buffered.readUInt16BE(0);
        if (conn.buffered.length < 2 + len) break;
        const frame = conn.buffered.subarray(2, 2 + len);
        conn.buffered = conn.buffered.subarray(2 + len);
        const id = peekId(frame);
        const p = id === undefined ? undefined : conn.pending.get(id);
        if (!p) continue;
        const decoded = decodeResponse(frame, p.query);
        if (decoded.kind === 'mismatch') continue;
        p.finish(
          decoded.kind === 'malformed'
            ? { kind: 'failed', outcome: 'malformed', detail: `${decoded.detail} from ${server.label}` }
            : { kind: 'packet', packet: decoded.packet },
        );
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.code === 'ECONNREFUSED';
      failAll(
        refused
          ? `TCP connection refused by ${server.label}`
          : `TCP error from ${server.label}: ${err.code ?? err.message}`,
        refused ? 'refused' : 'timeout',
      );
    });
    socket.on('close', () => failAll(`${server.label} closed the TCP connection before answering`));
    this.connections.set(key, conn);
    return conn;
  }

  send(server: ResolverSpec, asked: Query, timeoutMs: number, done: (result: Exchange) => void): void {
    const conn = this.connect(server);
    if (conn.idle) clearTimeout(conn.idle);
    conn.socket.ref();
    const query = withFreeId(asked, conn.pending, (id) => (id + 1) & 0xffff);
    let finished = false;
    const finish = (result: Exchange) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      conn.pending.delete(query.id);
      if (conn.pending.size === 0 && !conn.socket.destroyed) {
        conn.socket.unref();
        conn.idle = setTimeout(() => conn.socket.destroy(), IDLE_MS).unref();
      }
      done(result);
    };
    const timer = setTimeout(() => finish(timedOut(server, timeoutMs)), timeoutMs);
    conn.pending.set(query.id, { query, finish });
    const msg = encodeQuery(query);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    conn.socket.write(Buffer.concat([len, msg]));
  }

  async close(): Promise<void> {
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.connections.clear();
  }
}
