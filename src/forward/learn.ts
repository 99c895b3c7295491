import type { Family } from '../address.js';
import { decodeMessage, type Message } from '../resolver/decode.js';
import { classify, newQuery } from '../resolver/message.js';
import type { LookupResult } from '../resolver/types.js';
import type { ListIndex, Match } from './match.js';
import { hasCname, QTYPE, rcodeOf, type ClientQuery } from './wire.js';

/** A list entry an answer matched, and the name of the answer that matched it. */
export interface Taught extends Match {
  /** The name the client asked for, or the name of its CNAME chain that matched the entry. */
  name: string;
}

/**
 * What a forwarded answer teaches: the addresses of each name of it that matched a list entry.
 * Only those names: a name the client asked for that merely has a CNAME into a list's zone is
 * not the list's, since whoever controls that name may point it elsewhere tomorrow, and a sync
 * resolving it then would take whatever it says into the list.
 */
export interface Learning {
  /** Per matched name, an observation of it as a lookup of it would have recorded it. */
  results: LookupResult[];
  /** The entries matched, each once, with the name that matched. */
  matches: Taught[];
  /** The name the client asked for. */
  asked: string;
  family: Family;
  /** The answer's addresses (the same for every matched name: they end the same chain). */
  addresses: string[];
  /** The client's address. */
  client: string;
}

/**
 * Only a host name can be one of a list's names: letters, digits, hyphens and underscores, dot
 * separated. A list resolves what it learns: a name in any other form (an escaped dot, a space)
 * would be resolved as something else than what the answer said.
 */
const hostName = (name: string) => /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/i.test(name);

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
  // The chain starts with the question name: the first name to match an entry is the one it teaches.
  const chain = read.chain.length > 0 ? read.chain : [query.name];
  const matches: Taught[] = hostName(query.name) ? matched.map((m) => ({ ...m, name: query.name })) : [];
  for (const name of chain.slice(1).filter(hostName))
    for (const m of index.match(name))
      if (!matches.some((x) => x.list === m.list && x.entry === m.entry)) matches.push({ ...m, name });
  if (matches.length === 0) return undefined;
  const family: Family = type === 'A' ? 'ipv4' : 'ipv6';
  const names = [...new Set(matches.map((m) => m.name))];
  return {
    results: names.map((name) => {
      return {
        name,
        family,
        outcome: 'answer',
        addresses: read.addresses,
        ttl: read.ttl,
        // From the matched name on, as a lookup of it would have followed it.
        chain: chain.slice(chain.indexOf(name)),
        resolver: upstream,
      };
    }),
    matches,
    asked: query.name,
    family,
    addresses: read.addresses.map((a) => a.address),
    client,
  };
}
