import type { Family } from '../address.js';

/**
 * Every lookup ends in exactly one of these. `insecure`: `dnssec: require` is set and the resolver
 * answered without the AD flag, so nothing says the answer is authentic.
 */
export type Outcome =
  'answer' | 'nxdomain' | 'nodata' | 'servfail' | 'refused' | 'timeout' | 'malformed' | 'insecure';

/**
 * NXDOMAIN and NODATA are answers: the name's addresses then age out through retention. Every
 * other outcome is a failure, which keeps the name's addresses as they were.
 */
export function isSuccess(outcome: Outcome): boolean {
  return outcome === 'answer' || outcome === 'nxdomain' || outcome === 'nodata';
}

/** One lookup to make: a name and the family of the addresses wanted. */
export interface Question {
  name: string;
  family: Family;
}

export interface Answer {
  address: string;
  ttl: number;
}

export interface LookupResult {
  name: string;
  family: Family;
  outcome: Outcome;
  addresses: Answer[];
  /** Smallest TTL along the answer (CNAMEs included); for negative answers, the SOA minimum when given. */
  ttl: number | undefined;
  /** CNAME chain from the queried name to the name that held the addresses, queried name first. */
  chain: string[];
  /** Label of the resolver that gave the final answer (or the last one tried). */
  resolver: string;
  /** Human-readable detail for failures ("timeout after 2 attempts on 192.0.2.53"). */
  detail?: string;
}
