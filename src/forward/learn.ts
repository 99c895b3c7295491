import type { Family } from '../address.js';
import { decodeMessage, type Message } from '../resolver/decode.js';
import { classify, newQuery } from '../resolver/message.js';
import type { LookupResult } from '../resolver/types.js';
import type { ListIndex, Match } from './match.js';
import { hasCname, QTYPE, rcodeOf, type ClientQuery } from './wire.js';

/** What a forwarded answer teaches: the question name's addresses, and the list entries it matched. */
export interface Learning {
  /** An observation of the name the client asked for, as a lookup of it would have recorded it. */
  result: LookupResult;
  /** The entries matched by the question name or a name of its CNAME chain, each once. */
  matches: Match[];
  /** The client's address. */
  client: string;
}

/** Whether a query is one the forwarder may learn from: A or AAAA, class IN. */
export function learnable(query: ClientQuery): boolean {
  return (query.type === QTYPE.A || query.type === QTYPE.AAAA) && query.class === 1;
}

/**
 * Reads an upstream's answer to an A or AAAA query for what the lists learn from it; undefined
 * when nothing: an error or a negative answer, or neither the name nor its CNAME chain on a list.
 * The answer is decoded only when the name matched or a CNAME might lead into a list.
 */
export function learnFrom(
  query: ClientQuery,
  answer: Buffer,
  matched: readonly Match[],
  index: ListIndex,
  upstream: string,
  client: string,
): Learning | undefined {
  if (rcodeOf(answer) !== 0) return undefined;
  if (matched.length === 0 && !hasCname(answer, query.questionEnd)) return undefined;
  let packet: Message;
  try {
    packet = decodeMessage(answer);
  } catch {
    return undefined; // the client gets it as it is; nothing is learned from what cannot be read
  }
  const type = query.type === QTYPE.A ? 'A' : 'AAAA';
  const read = classify(packet, newQuery(query.name, type), [query.name]);
  if (read.kind !== 'final' || read.outcome !== 'answer') return undefined;
  const matches = [...matched];
  for (const name of read.chain.slice(1))
    for (const m of index.match(name))
      if (!matches.some((x) => x.list === m.list && x.entry === m.entry)) matches.push(m);
  if (matches.length === 0) return undefined;
  const family: Family = type === 'A' ? 'ipv4' : 'ipv6';
  return {
    result: {
      name: query.name,
      family,
      outcome: 'answer',
      addresses: read.addresses,
      ttl: read.ttl,
      chain: read.chain,
      resolver: upstream,
    },
    matches,
    client,
  };
}
