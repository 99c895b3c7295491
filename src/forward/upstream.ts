import { DohTransport } from '../resolver/doh.js';
import { forwardedQuery } from '../resolver/message.js';
import type { ResolverSpec } from '../config/resolver-spec.js';
import { TcpTransport, TlsTransport } from '../resolver/tcp.js';
import type { Transport } from '../resolver/transport.js';
import { UdpTransport } from '../resolver/udp.js';
import { RCODE, rcodeOf } from './wire.js';

export type Forwarded =
  { kind: 'answer'; message: Buffer; upstream: string } | { kind: 'failed'; detail: string };

/** Sockets per UDP upstream: each query leaves from one of them at random (a random source port). */
const UDP_SOCKETS = 8;
/** Queries per socket before it is replaced by one on another random port. */
const UDP_RECYCLE = 500;

/**
 * The upstreams, asked with the resolver's own transports and their checks (a random ID per query,
 * an answer only from the server asked, for the question asked). A query that came over UDP goes
 * on over UDP, one that came over TCP over TCP; tcp://, tls:// and https:// upstreams are asked as
 * configured. Servers are tried in order, `attempts` rounds; a SERVFAIL or REFUSED moves on to the
 * next server, and is what the client gets when no server does better.
 */
export class Upstreams {
  private readonly udp = new UdpTransport(UDP_SOCKETS, UDP_RECYCLE);
  private readonly tcp = new TcpTransport();
  private tls: TlsTransport | undefined;
  private doh: DohTransport | undefined;
  /** Each server as asked over TCP (a UDP server is asked on the same port). */
  private readonly overTcp: ResolverSpec[];

  constructor(
    private readonly servers: readonly ResolverSpec[],
    private readonly timeoutMs: number,
    private readonly attempts: number,
  ) {
    this.overTcp = servers.map((s) =>
      s.protocol === 'udp' ? { ...s, protocol: 'tcp', label: `tcp://${s.label}` } : s,
    );
  }

  private route(index: number, tcp: boolean): [Transport, ResolverSpec] {
    const server = this.servers[index] as ResolverSpec;
    switch (server.protocol) {
      case 'udp':
        return tcp ? [this.tcp, this.overTcp[index] as ResolverSpec] : [this.udp, server];
      case 'tcp':
        return [this.tcp, server];
      case 'tls':
        return [(this.tls ??= new TlsTransport()), server];
      case 'https':
        return [(this.doh ??= new DohTransport()), server];
    }
  }

  /** Forwards a client's message; `done` is called once, never synchronously. */
  forward(message: Buffer, tcp: boolean, done: (result: Forwarded) => void): void {
    const count = this.servers.length;
    let attempt = 0;
    let index = 0;
    let fallback: Forwarded | undefined;
    let detail = 'no upstream configured';
    const next = (): void => {
      if (index === count) {
        // Every server answered or failed once: a server's own SERVFAIL is final for this round.
        if (fallback) return done(fallback);
        index = 0;
        attempt += 1;
      }
      if (attempt >= this.attempts || count === 0) {
        done(fallback ?? { kind: 'failed', detail });
        return;
      }
      const at = index++;
      const [transport, server] = this.route(at, tcp);
      transport.send(server, forwardedQuery(message), this.timeoutMs, (exchange) => {
        if (exchange.kind === 'message') {
          const rcode = rcodeOf(exchange.message);
          const answer: Forwarded = { kind: 'answer', message: exchange.message, upstream: server.label };
          if (rcode !== RCODE.SERVFAIL && rcode !== RCODE.REFUSED) return done(answer);
          fallback = answer;
          detail = `${rcode === RCODE.SERVFAIL ? 'SERVFAIL' : 'REFUSED'} from ${server.label}`;
        } else {
          detail = exchange.kind === 'failed' ? exchange.detail : `no answer from ${server.label}`;
        }
        next();
      });
    };
    if (count === 0) queueMicrotask(next);
    else next();
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close(), this.tls?.close(), this.doh?.close()]);
  }
}
