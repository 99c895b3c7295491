import type { Family } from '../address.js';
import { DohTransport } from './doh.js';
import { classify, MAX_CHAIN, newQuery, TYPE_OF, type Classified } from './message.js';
import type { ResolverSpec } from './servers.js';
import { TcpTransport } from './tcp.js';
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

export type DnssecMode = 'off' | 'require';

/** Bounds the number of queries in flight. */
class Semaphore {
  private active = 0;
  // A queue with a head index: a watch wake-up may queue many lookups at once, and Array.shift()
  // on tens of thousands of waiters made resolution quadratic (docs/benchmarks.md).
  private waiting: (() => void)[] = [];
  private head = 0;
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.release();
    }
  }

  private release(): void {
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
  private doh: DohTransport | undefined;
  private readonly limit: Semaphore;
  private readonly dnssec: boolean;

  constructor(private readonly options: ResolverOptions) {
    this.limit = new Semaphore(options.concurrency);
    this.dnssec = options.dnssec === 'require';
  }

  private transport(server: ResolverSpec): Transport {
    if (server.protocol === 'tcp') return this.tcp;
    if (server.protocol === 'https') return (this.doh ??= new DohTransport());
    return this.udp;
  }

  /**
   * Looks up every question, `concurrency` at a time, in order; `onResult` sees each lookup as it
   * finishes. Workers take the next question when one finishes, rather than queueing every
   * lookup at once: tens of thousands of waiting lookups outlived young-generation collections
   * and made a 10,000-name sync spend a sixth of its time collecting garbage.
   */
  async lookupAll(
    questions: readonly Question[],
    onResult?: (result: LookupResult) => void,
  ): Promise<LookupResult[]> {
    const results = new Array<LookupResult>(questions.length);
    let next = 0;
    const worker = async () => {
      while (next < questions.length) {
        const i = next++;
        const q = questions[i] as Question;
        const result = await this.lookup(q.name, q.family);
        results[i] = result;
        onResult?.(result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, questions.length) }, worker));
    return results;
  }

  async lookup(name: string, family: Family): Promise<LookupResult> {
    const type = TYPE_OF[family];
    let chain = [name];
    let ttl: number | undefined;
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
    try {
      for (let hop = 0; hop <= MAX_CHAIN; hop++) {
        const { result, resolver } = await this.ask(chain.at(-1) as string, type, chain);
        if (result.kind === 'follow') {
          chain = result.chain;
          ttl = min(ttl, result.ttl);
          continue;
        }
        if (result.kind === 'retry') return failed(result.outcome, result.detail, resolver);
        return {
          name,
          family,
          outcome: result.outcome,
          addresses: result.addresses,
          ttl: min(ttl, result.ttl),
          chain: result.chain,
          resolver,
          ...(result.detail ? { detail: result.detail } : {}),
        };
      }
      return failed('malformed', `CNAME chain longer than ${MAX_CHAIN}`);
    } catch (err) {
      // A bug must not take the whole run down: report it as this name's failure.
      return failed('malformed', `internal error: ${(err as Error).message}`);
    }
  }

  /** One question, all servers, all attempts. */
  private async ask(
    qname: string,
    type: 'A' | 'AAAA',
    chain: string[],
  ): Promise<{ result: Classified; resolver: string }> {
    const { servers, attempts, timeoutMs } = this.options;
    let worst: { outcome: Outcome; detail: string; resolver: string } | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      for (const server of servers) {
        const query = newQuery(qname, type, this.dnssec);
        let exchange: Exchange = await this.limit.run(() =>
          this.transport(server).exchange(server, query, timeoutMs),
        );
        if (exchange.kind === 'truncated') {
          const retry = newQuery(qname, type, this.dnssec);
          exchange = await this.limit.run(() =>
            this.tcp.exchange({ ...server, protocol: 'tcp' }, retry, timeoutMs),
          );
          if (exchange.kind === 'truncated')
            exchange = { kind: 'failed', outcome: 'malformed', detail: 'truncated over TCP' };
        }
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
            return { result, resolver: server.label };
          } else {
            failure = { outcome: result.outcome, detail: `${result.detail} from ${server.label}` };
          }
        } else {
          failure = exchange as { outcome: Outcome; detail: string };
        }
        if (!worst || (FAILURE_RANK[failure.outcome] ?? 0) >= (FAILURE_RANK[worst.outcome] ?? 0)) {
          worst = { ...failure, resolver: server.label };
        }
      }
    }
    const w = worst ?? { outcome: 'timeout' as Outcome, detail: 'no resolver configured', resolver: '' };
    // Every server was tried when no answer came back.
    const tried = new Set(servers.map((s) => s.label));
    const on = tried.size > 1 ? ` on ${[...tried].join(', ')}` : '';
    const suffix =
      attempts > 1 || tried.size > 1 ? ` (${attempts} attempt${attempts > 1 ? 's' : ''}${on})` : '';
    return {
      result: { kind: 'retry', outcome: w.outcome, detail: `${w.detail}${suffix}` },
      resolver: w.resolver,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close(), this.doh?.close()]);
  }
}

function min(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
