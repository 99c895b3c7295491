import dgram from 'node:dgram';
import { decodeResponse, encodeQuery, peekId, randomId, withFreeId, type Query } from './message.js';
import type { ResolverSpec } from '../config/resolver-spec.js';
import { timedOut, type Exchange, type Transport } from './transport.js';

/** One query in flight: waiting to be sent, or for its answer until its deadline. */
class Pending {
  /** Set when the server sent something for this ID that could not be decoded. */
  garbage: string | undefined = undefined;
  finished = false;
  constructor(
    readonly server: ResolverSpec,
    readonly query: Query,
    readonly slot: Slot,
    /** performance.now() after which the query has timed out. */
    readonly deadline: number,
    readonly timeoutMs: number,
    private readonly done: (result: Exchange) => void,
    private readonly settled: () => void,
  ) {}

  finish(result: Exchange): void {
    if (this.finished) return;
    this.finished = true;
    this.slot.pending.delete(this.query.id);
    this.settled();
    this.done(result);
  }

  timeOut(): void {
    this.finish(
      this.garbage
        ? { kind: 'failed', outcome: 'malformed', detail: this.garbage }
        : timedOut(this.server, this.timeoutMs),
    );
  }

  readonly sent = (err: Error | null): void => {
    if (err)
      this.finish({
        kind: 'failed',
        outcome: 'timeout',
        detail: `cannot send to ${this.server.label}: ${err.message}`,
      });
  };

  transmit(): void {
    if (!this.finished) this.slot.socket.send(encodeQuery(this.query), this.sent);
  }
}

interface Slot {
  socket: dgram.Socket;
  pending: Map<number, Pending>;
  /** Resolves once the socket is connected; sends wait for it. */
  ready: Promise<void>;
  connected: boolean;
  /** Queries sent from it. */
  sent: number;
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

  /** Slots replaced by fresh sockets, closed once their last query is done. */
  private retiring: Slot[] = [];

  /**
   * `recycleAfter`: a socket is replaced by a new one (another random port) after that many
   * queries; 0 keeps it. A long-running forwarder's few sockets would otherwise offer an off-path
   * spoofer the same ports for days.
   */
  constructor(
    private readonly poolSize = 4,
    private readonly recycleAfter = 0,
  ) {}

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
    const slot: Slot = { socket, pending, ready: Promise.resolve(), connected: false, sent: 0 };
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
    if (decoded.kind === 'message') {
      p.finish(decoded);
      return;
    }
    p.finish(decoded.packet.tc ? { kind: 'truncated' } : { kind: 'packet', packet: decoded.packet });
  }

  send(server: ResolverSpec, asked: Query, timeoutMs: number, done: (result: Exchange) => void): void {
    const pool = this.pool(server);
    const index = randomId() % pool.length;
    const slot = pool[index]!;
    if (this.recycleAfter > 0 && ++slot.sent >= this.recycleAfter) {
      // This query is its last: the next ones leave from a new socket.
      pool[index] = this.open(server);
      this.retiring.push(slot);
    }
    const query = withFreeId(asked, slot.pending, randomId);
    const entry = new Pending(
      server,
      query,
      slot,
      performance.now() + timeoutMs,
      timeoutMs,
      done,
      this.settled,
    );
    slot.pending.set(query.id, entry);
    this.watch(timeoutMs);
    if (!slot.connected) {
      void slot.ready.then(() => entry.transmit());
      return;
    }
    this.outbox.push(entry);
    if (this.outbox.length === 1) setImmediate(this.flush);
  }

  /**
   * Queries made while the event loop handles a batch of answers go out together, after it.
   * Sending each the moment its predecessor's answer arrived woke the server's thread for every
   * query, and on a machine with few cores each wake-up took the CPU from this process.
   */
  private outbox: Pending[] = [];
  private readonly flush = () => {
    const batch = this.outbox;
    this.outbox = [];
    for (const entry of batch) entry.transmit();
  };

  /**
   * Timeouts: one timer looks over the queries in flight a few times per timeout, rather than a
   * timer per query (a Timeout object, a list insertion and a removal, 20,000 times a sync). A
   * query times out at most a tenth of its timeout (at most 100 ms) late.
   */
  private sweeper: NodeJS.Timeout | undefined;
  private inFlight = 0;

  private watch(timeoutMs: number): void {
    this.inFlight += 1;
    if (!this.sweeper) {
      this.sweeper = setInterval(this.sweep, Math.max(5, Math.min(100, timeoutMs / 10)));
    } else if (this.inFlight === 1) {
      this.sweeper.ref();
    }
  }

  private readonly settled = () => {
    this.inFlight -= 1;
    // Nothing in flight: the timer must not keep the process alive.
    if (this.inFlight === 0) this.sweeper?.unref();
  };

  private readonly sweep = () => {
    const now = performance.now();
    for (const pool of this.pools.values())
      for (const slot of pool)
        for (const entry of slot.pending.values()) if (entry.deadline <= now) entry.timeOut();
    if (this.retiring.length === 0) return;
    for (const slot of this.retiring)
      for (const entry of slot.pending.values()) if (entry.deadline <= now) entry.timeOut();
    this.retiring = this.retiring.filter((slot) => {
      if (slot.pending.size > 0) return true;
      slot.socket.close();
      return false;
    });
  };

  async close(): Promise<void> {
    this.outbox = [];
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const pool of [...this.pools.values(), this.retiring]) {
      for (const { socket, pending } of pool) {
        for (const p of [...pending.values()])
          p.finish({ kind: 'failed', outcome: 'timeout', detail: 'resolver closed' });
        socket.close();
      }
    }
    this.pools.clear();
    this.retiring = [];
    this.bySpec = new WeakMap();
  }
}

/** A DNS response has QR set and exactly one question; anything else from a server is garbage. */
function looksLikeResponse(buf: Buffer): boolean {
  return buf.length >= 12 && ((buf[2] as number) & 0x80) !== 0 && buf.readUInt16BE(4) === 1;
}
