import net from 'node:net';
import tls from 'node:tls';
import { decodeResponse, encodeQuery, peekId, withFreeId, type Query } from './message.js';
import type { ResolverSpec } from '../config/resolver-spec.js';
import { timedOut, type Exchange, type Transport } from './transport.js';
import { certificateProblem, pinMismatch, tlsOptions } from './trust.js';

/** RFC 7766: keep an idle connection a little while for the next query, then let it go. */
const IDLE_MS = 5000;

interface Connection {
  socket: net.Socket;
  pending: Map<number, { query: Query; finish(result: Exchange): void }>;
  buffered: Buffer;
  idle?: NodeJS.Timeout;
  /** False until a TLS server's certificate is verified: queries wait in `queue` until then. */
  ready: boolean;
  queue: Buffer[];
}

type Failure = 'timeout' | 'refused' | 'malformed';

/**
 * DNS over TCP, one connection per server reused for pipelined queries (matched by ID and
 * question), each with its own timeout. dns2's own TCP client has neither.
 */
export class TcpTransport implements Transport {
  private readonly connections = new Map<string, Connection>();

  /** The connection's socket; `verified` is called once queries may go out on it. */
  protected open(server: ResolverSpec, verified: () => void): net.Socket {
    const socket = net.connect({ host: server.host, port: server.port });
    verified();
    return socket;
  }

  /** Says what a socket error means, in one line. */
  protected describe(server: ResolverSpec, err: NodeJS.ErrnoException): { detail: string; outcome: Failure } {
    return err.code === 'ECONNREFUSED'
      ? { detail: `TCP connection refused by ${server.label}`, outcome: 'refused' }
      : { detail: `TCP error from ${server.label}: ${err.code ?? err.message}`, outcome: 'timeout' };
  }

  private connect(server: ResolverSpec): Connection {
    const key = `${server.host}|${server.port}|${server.servername ?? ''}`;
    const existing = this.connections.get(key);
    if (existing && !existing.socket.destroyed) return existing;
    const conn = {
      pending: new Map(),
      buffered: Buffer.alloc(0),
      ready: false,
      queue: [],
    } as unknown as Connection;
    const failAll = (detail: string, outcome: Failure = 'timeout') => {
      for (const p of [...conn.pending.values()]) p.finish({ kind: 'failed', outcome, detail });
      conn.pending.clear();
      conn.queue = [];
      if (this.connections.get(key) === conn) this.connections.delete(key);
    };
    // For plain TCP `verified` runs inside open(), before any query is queued.
    const socket = this.open(server, () => {
      conn.ready = true;
      for (const frame of conn.queue) conn.socket.write(frame);
      conn.queue = [];
    });
    conn.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!conn.ready) return; // nothing is believed from a server not yet verified
      conn.buffered = conn.buffered.length === 0 ? chunk : Buffer.concat([conn.buffered, chunk]);
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
            : decoded,
        );
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const { detail, outcome } = this.describe(server, err);
      failAll(detail, outcome);
    });
    socket.on('close', () => failAll(`${server.label} closed the connection before answering`));
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
    const frame = Buffer.allocUnsafe(2 + msg.length);
    frame.writeUInt16BE(msg.length, 0);
    msg.copy(frame, 2);
    if (conn.ready) conn.socket.write(frame);
    else conn.queue.push(frame);
  }

  async close(): Promise<void> {
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.connections.clear();
  }
}

/**
 * DNS over TLS (RFC 7858): the same pipelined, reused connection, over TLS. No query goes out
 * and no answer is read before the server's certificate is verified: against the configured CA
 * (default: the system's) for the name after '#' or else the address, or against a pinned
 * fingerprint.
 */
export class TlsTransport extends TcpTransport {
  protected override open(server: ResolverSpec, verified: () => void): net.Socket {
    const socket = tls.connect({ host: server.host, port: server.port, ...tlsOptions(server) });
    socket.once('secureConnect', () => {
      const mismatch = pinMismatch(server, socket.getPeerCertificate());
      if (mismatch) {
        socket.destroy(Object.assign(new Error(mismatch), { code: 'DNSFENCE_PIN_MISMATCH' }));
        return;
      }
      verified();
    });
    return socket;
  }

  protected override describe(
    server: ResolverSpec,
    err: NodeJS.ErrnoException,
  ): { detail: string; outcome: Failure } {
    if (err.code === 'DNSFENCE_PIN_MISMATCH') return { detail: err.message, outcome: 'refused' };
    const certificate = certificateProblem(server, err);
    if (certificate) return { detail: certificate, outcome: 'refused' };
    if (err.code === 'ECONNREFUSED')
      return { detail: `TLS connection refused by ${server.label}`, outcome: 'refused' };
    return { detail: `TLS error from ${server.label}: ${err.code ?? err.message}`, outcome: 'timeout' };
  }
}
