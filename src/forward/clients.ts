import { insideAny, type Address } from '../address.js';

/** Client addresses remembered at most: a flood from many (spoofed) sources must not grow memory. */
const REMEMBERED = 65_536;

/** An IPv4 client of a dual-stack socket arrives as `::ffff:192.0.2.1`: it is judged as itself. */
export function clientAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Who may ask: `forward.clients`. Each address is judged once. */
export class Clients {
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly prefixes: readonly Address[]) {}

  allows(address: string): boolean {
    let verdict = this.verdicts.get(address);
    if (verdict === undefined) {
      verdict = insideAny(address, this.prefixes);
      if (this.verdicts.size >= REMEMBERED) this.verdicts.clear();
      this.verdicts.set(address, verdict);
    }
    return verdict;
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * `forward.rate_limit` queries per second per client address, with a burst of one second's worth
 * (a token bucket). 0: no limit.
 */
export class RateLimit {
  private buckets = new Map<string, Bucket>();

  constructor(private readonly perSecond: number) {}

  /** Takes one query's token; false when the client has used up its rate. */
  take(address: string, nowMs: number): boolean {
    if (this.perSecond === 0) return true;
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= REMEMBERED) this.forgetIdle(nowMs);
      bucket = { tokens: this.perSecond, at: nowMs };
      this.buckets.set(address, bucket);
    } else {
      bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((nowMs - bucket.at) * this.perSecond) / 1000);
      bucket.at = nowMs;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Clients whose bucket has filled up again are as good as new: they are dropped. */
  private forgetIdle(nowMs: number): void {
    for (const [address, b] of this.buckets) if (nowMs - b.at >= 1000) this.buckets.delete(address);
    if (this.buckets.size >= REMEMBERED) this.buckets = new Map();
  }
}
