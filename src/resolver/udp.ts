import dgram from 'node:dgram';
import { decodeResponse, encodeQuery, peekId, randomId, withFreeId, type Query } from './message.js';
import type { ResolverSpec } from './servers.js';
import { timedOut, type Exchange, type Transport } from './transport.js';

interface Pending {
  server: ResolverSpec;
  query: Query;
  finish(result: Exchange): void;
  /** Set when the server sent something for this ID that could not be decoded. */
  garbage?: string;
}

interface Slot {
  socket: dgram.Socket;
  pending: Map<number, Pending>;
  /** Resolves once the socket is connected; sends wait for it. */
  ready: Promise<void>;
  connected: boolean;
}

/**
 * DNS over UDP on a small pool of long-lived sockets per server, each connected to its server.
 * Each query gets a random ID and a random socket (so a random source port); the kernel delivers
 * a connected socket only the server's datagrams, and an answer counts only with the query's ID
 * and question. Anything else is dropped. A connected socket also hears the ICMP "port
 * unreachable" a host sends back when nothing listens there: the lookup then fails at once as
 * refused, instead of waiting out its timeout.
 */
export class UdpTransport implements Transport {
  private readonly pools = new Map<string, Slot[]>();
  /** The same pools by the configuration's own server objects: no key to build per query. */
  private bySpec = new WeakMap<ResolverSpec, Slot[]>();

  constructor(private readonly poolSize = 4) {}

  private pool(server: ResolverSpec): Slot[] {
    let pool = this.bySpec.get(server);
    if (pool) return pool;
    const key = `${server.host}|${server.port}`;
    pool = this.pools.get(key);
    if (!pool) {
      pool = Array.from({ length: this.poolSize }, () => this.open(server));
      this.pools.set(key, pool);
    }
    this.bySpec.set(server, pool);
    return pool;
  }

  private open(server: ResolverSpec): Slot {
    const socket = dgram.createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const pending = new Map<number, Pending>();
    socket.on('message', (buf) => this.receive(pending, buf));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED: an ICMP port unreachable for one of the datagrams sent on this socket.
      const refused = err.code === 'ECONNREFUSED';
      const failure: Exchange = refused
        ? {
            kind: 'failed',
            outcome: 'refused',
            detail: `nothing listens on ${server.label} (ICMP port unreachable)`,
          }
        : { kind: 'failed', outcome: 'timeout', detail: `${server.label}: ${err.code ?? err.message}` };
      for (const p of [...pending.values()]) p.finish(failure);
    });
    socket.unref();
    const slot: Slot = { socket, pending, ready: Promise.resolve(), connected: false };
    slot.ready = new Promise<void>((resolve) => {
      socket.connect(server.port, server.host, () => {
        slot.connected = true;
        resolve();
      });
    });
    return slot;
  }

  private receive(pending: Map<number, Pending>, buf: Buffer): void {
    const id = peekId(buf);
    const p = id === undefined ? undefined : pending.get(id);
    if (!p) {
      if (!looksLikeResponse(buf)) {
        // Undecodable bytes from the server we are waiting on: remember, report if nothing valid follows.
        for (const other of pending.values())
          other.garbage = `undecodable answer of ${buf.length} bytes from ${other.server.label}`;
      }
      return;
    }
    const decoded = decodeResponse(buf, p.query);
    if (decoded.kind === 'mismatch') return;
    if (decoded.kind === 'malformed') {
      p.finish({ kind: 'failed', outcome: 'malformed', detail: `${decoded.detail} from ${p.server.label}` });
      return;
    }
    p.finish(decoded.packet.tc ? { kind: 'truncated' } : { kind: 'packet', packet: decoded.packet });
  }

  send(server: ResolverSpec, asked: Query, timeoutMs: number, done: (result: Exchange) => void): void {
    const pool = this.pool(server);
    const slot = pool[randomId() % pool.length]!;
    const query = withFreeId(asked, slot.pending, randomId);
    let finished = false;
    const entry: Pending = {
      server,
      query,
      finish: (result) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        slot.pending.delete(query.id);
        done(result);
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
    const send = () =>
      slot.socket.send(encodeQuery(query), (err) => {
        if (err)
          entry.finish({
            kind: 'failed',
            outcome: 'timeout',
            detail: `cannot send to ${server.label}: ${err.message}`,
          });
      });
    if (!slot.connected) {
      void slot.ready.then(send);
      return;
    }
    this.outbox.push(send);
    if (this.outbox.length === 1) setImmediate(this.flush);
  }

  /**
   * Queries made while the event loop handles a batch of answers go out together, after it.
   * Sending each the moment its predecessor's answer arrived woke the server's thread for every
   * query, and on a machine with few cores each wake-up took the CPU from this process.
   */
  private outbox: (() => void)[] = [];
  private readonly flush = () => {
    const batch = this.outbox;
    this.outbox = [];
    for (const send of batch) send();
  };

  async close(): Promise<void> {
    this.outbox = [];
    for (const pool of this.pools.values()) {
      for (const { socket, pending } of pool) {
        for (const p of [...pending.values()])
          p.finish({ kind: 'failed', outcome: 'timeout', detail: 'resolver closed' });
        socket.close();
      }
    }
    this.pools.clear();
    this.bySpec = new WeakMap();
  }
}

/** A DNS response has QR set and exactly one question; anything else from a server is garbage. */
function looksLikeResponse(buf: Buffer): boolean {
  return buf.length >= 12 && ((buf[2] as number) & 0x80) !== 0 && buf.readUInt16BE(4) === 1;
}
