import type { Family } from '../address.js';
import { DohTransport } from './doh.js';
import { classify, MAX_CHAIN, newQuery, TYPE_OF, type Classified, type Query } from './message.js';
import type { DnssecMode, ResolverSpec } from '../config/resolver-spec.js';
import { TcpTransport, TlsTransport } from './tcp.js';
import type { Exchange, Transport } from './transport.js';
import type { LookupResult, Outcome, Question } from './types.js';
import { UdpTransport } from './udp.js';

export interface ResolverOptions {
  servers: ResolverSpec[];
  timeoutMs: number;
  attempts: number;
  concurrency: number;
  /**
   * `require`: ask with the DO bit and take an answer only when the resolver vouches for it with
   * the AD flag (it validated the DNSSEC signatures); any other answer is the outcome `insecure`.
   */
  dnssec?: DnssecMode;
}

/** Bounds the number of queries in flight: `run` starts a task now, or when one ends. */
class Semaphore {
  private active = 0;
  // A queue with a head index: a watch wake-up may queue many lookups at once, and Array.shift()
  // on tens of thousands of waiters made resolution quadratic (docs/benchmarks.md).
  private waiting: (() => void)[] = [];
  private head = 0;
  constructor(private readonly limit: number) {}

  /** `task` calls the `release` it is given once, when it is done. */
  run(task: (release: () => void) => void): void {
    if (this.active >= this.limit) {
      this.waiting.push(() => this.run(task));
      return;
    }
    this.active += 1;
    let released = false;
    task(() => {
      if (released) return;
      released = true;
      this.active -= 1;
      this.next();
    });
  }

  private next(): void {
    const next = this.waiting[this.head];
    if (!next) return;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}

/** Failures ranked by how much they say: a server's own SERVFAIL beats silence. */
const FAILURE_RANK: Partial<Record<Outcome, number>> = {
  timeout: 1,
  malformed: 2,
  refused: 3,
  servfail: 4,
  insecure: 5,
};

/**
 * Looks names up, one family at a time, across the configured resolvers with fail-over,
 * retries, TCP fallback on truncation and CNAME following. `lookup` never rejects: every
 * lookup ends in one outcome.
 */
export class Resolver {
  private readonly udp = new UdpTransport();
  private readonly tcp = new TcpTransport();
  private tls: TlsTransport | undefined;
  private doh: DohTransport | undefined;
  private readonly limit: Semaphore;
  private readonly dnssec: boolean;

  constructor(private readonly options: ResolverOptions) {
    this.limit = new Semaphore(options.concurrency);
    this.dnssec = options.dnssec === 'require';
  }

  private transport(server: ResolverSpec): Transport {
    if (server.protocol === 'tcp') return this.tcp;
    if (server.protocol === 'tls') return (this.tls ??= new TlsTransport());
    if (server.protocol === 'https') return (this.doh ??= new DohTransport());
    return this.udp;
  }

  /**
   * Looks up every question, `concurrency` at a time, in order; `onResult` sees each lookup as it
   * finishes. The next question starts when a lookup ends, rather than queueing every lookup at
   * once: tens of thousands of waiting lookups outlived young-generation collections and made a
   * 10,000-name sync spend a sixth of its time collecting garbage.
   */
  lookupAll(
    questions: readonly Question[],
    onResult?: (result: LookupResult) => void,
  ): Promise<LookupResult[]> {
    return new Promise((resolve, reject) => {
      const results = new Array<LookupResult>(questions.length);
      let next = 0;
      let finished = 0;
      let failed = false;
      const start = () => {
        const i = next++;
        const q = questions[i] as Question;
        this.resolve(q.name, q.family, (result) => {
          if (failed) return;
          results[i] = result;
          finished += 1;
          try {
            onResult?.(result);
          } catch (err) {
            failed = true;
            reject(err as Error);
            return;
          }
          if (next < questions.length) start();
          else if (finished === questions.length) resolve(results);
        });
      };
      if (questions.length === 0) resolve(results);
      for (let w = 0; w < Math.min(this.options.concurrency, questions.length); w++) start();
    });
  }

  lookup(name: string, family: Family): Promise<LookupResult> {
    return new Promise((resolve) => this.resolve(name, family, resolve));
  }

  /** One lookup, CNAME hops included; `done` is called once, never synchronously. */
  private resolve(name: string, family: Family, done: (result: LookupResult) => void): void {
    const type = TYPE_OF[family];
    let chain = [name];
    let ttl: number | undefined;
    let hops = 0;
    const failed = (outcome: Outcome, detail: string, resolver = ''): LookupResult => ({
      name,
      family,
      outcome,
      addresses: [],
      ttl: undefined,
      chain,
      resolver,
      detail,
    });
    const ask = () =>
      this.ask(chain.at(-1) as string, type, chain, (result, resolver) => {
        try {
          if (result.kind === 'follow') {
            chain = result.chain;
            ttl = min(ttl, result.ttl);
            if (++hops > MAX_CHAIN) {
              done(failed('malformed', `CNAME chain longer than ${MAX_CHAIN}`));
              return;
            }
            ask();
            return;
          }
          if (result.kind === 'retry') {
            done(failed(result.outcome, result.detail, resolver));
            return;
          }
          done({
            name,
            family,
            outcome: result.outcome,
            addresses: result.addresses,
            ttl: min(ttl, result.ttl),
            chain: result.chain,
            resolver,
            detail: result.detail,
          });
        } catch (err) {
          // A bug must not take the whole run down: report it as this name's failure.
          done(failed('malformed', `internal error: ${(err as Error).message}`));
        }
      });
    ask();
  }

  /** One question, all servers, all attempts; `done` is called once, never synchronously. */
  private ask(
    qname: string,
    type: 'A' | 'AAAA',
    chain: string[],
    done: (result: Classified, resolver: string) => void,
  ): void {
    const { servers, attempts } = this.options;
    let worst: { outcome: Outcome; detail: string; resolver: string } | undefined;
    let attempt = 0;
    let index = 0;
    const giveUp = () => {
      const w = worst ?? { outcome: 'timeout' as Outcome, detail: 'no resolver configured', resolver: '' };
      // Every server was tried when no answer came back.
      const tried = new Set(servers.map((s) => s.label));
      const on = tried.size > 1 ? ` on ${[...tried].join(', ')}` : '';
      const suffix =
        attempts > 1 || tried.size > 1 ? ` (${attempts} attempt${attempts > 1 ? 's' : ''}${on})` : '';
      done({ kind: 'retry', outcome: w.outcome, detail: `${w.detail}${suffix}` }, w.resolver);
    };
    const next = () => {
      if (index === servers.length) {
        index = 0;
        attempt += 1;
      }
      if (attempt >= attempts || servers.length === 0) {
        giveUp();
        return;
      }
      const server = servers[index++] as ResolverSpec;
      const query = newQuery(qname, type, this.dnssec);
      this.exchange(this.transport(server), server, query, (exchange) => {
        if (exchange.kind !== 'truncated') {
          answered(server, query, exchange);
          return;
        }
        const retry = newQuery(qname, type, this.dnssec);
        this.exchange(this.tcp, { ...server, protocol: 'tcp' }, retry, (overTcp) =>
          answered(
            server,
            retry,
            overTcp.kind === 'truncated'
              ? { kind: 'failed', outcome: 'malformed', detail: 'truncated over TCP' }
              : overTcp,
          ),
        );
      });
    };
    const answered = (server: ResolverSpec, query: Query, exchange: Exchange) => {
      let failure: { outcome: Outcome; detail: string };
      if (exchange.kind === 'packet') {
        const result = classify(exchange.packet, query, chain);
        if (result.kind !== 'retry' && this.dnssec && !exchange.packet.ad) {
          // Also a CNAME to follow: a chain is only as authentic as its weakest answer.
          failure = {
            outcome: 'insecure',
            detail: `answer for ${qname} ${type} without the AD flag (not validated by DNSSEC) from ${server.label}`,
          };
        } else if (result.kind !== 'retry') {
          done(result, server.label);
          return;
        } else {
          failure = { outcome: result.outcome, detail: `${result.detail} from ${server.label}` };
        }
      } else {
        failure = exchange as { outcome: Outcome; detail: string };
      }
      if (!worst || (FAILURE_RANK[failure.outcome] ?? 0) >= (FAILURE_RANK[worst.outcome] ?? 0)) {
        worst = { ...failure, resolver: server.label };
      }
      next();
    };
    if (servers.length === 0) queueMicrotask(giveUp);
    else next();
  }

  /** One exchange within the concurrency limit. */
  private exchange(
    transport: Transport,
    server: ResolverSpec,
    query: Query,
    done: (result: Exchange) => void,
  ): void {
    this.limit.run((release) =>
      transport.send(server, query, this.options.timeoutMs, (result) => {
        release();
        done(result);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close(), this.tls?.close(), this.doh?.close()]);
  }
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
