import { randomFillSync } from 'node:crypto';
import DNS from 'dns2';
import './codec-speed.js';
import type { Family } from '../address.js';
import { CLASS_IN, decodeMessage, TYPE, type AnswerRecord, type Message } from './decode.js';
import type { Answer, Outcome } from './types.js';

const { Packet } = DNS;

/** RFC 9715 / DNS flag day 2020: a payload size that avoids IP fragmentation. */
const EDNS_PAYLOAD = 1232;
export const MAX_CHAIN = 8;

export type RecordType = 'A' | 'AAAA';
export const TYPE_OF: Record<Family, RecordType> = { ipv4: 'A', ipv6: 'AAAA' };

export interface Query {
  readonly id: number;
  readonly name: string;
  readonly type: RecordType;
  /** Sets EDNS's DO bit: DNSSEC OK, the answer may carry signatures and the AD flag. */
  readonly dnssec: boolean;
  /**
   * A client's message forwarded as it wrote it (src/forward): sent with only the ID replaced, its
   * answer accepted when it repeats the question, and handed back as bytes. `name`, `type` and
   * `dnssec` are then unused: the message says what it asks.
   */
  readonly message: Buffer | undefined;
}

export function newQuery(
  name: string,
  type: RecordType,
  dnssec = false,
  id = randomId(),
  message: Buffer | undefined = undefined,
): Query {
  return { id, name, type, dnssec, message };
}

/** A client's message to forward; `message` must hold one question (the forwarder checked it). */
export function forwardedQuery(message: Buffer, id = randomId()): Query {
  return newQuery('', 'A', false, id, message);
}

// Query IDs are a defence against forged answers (RFC 5452): unpredictable, from the system's
// generator, drawn 2 bytes at a time from a block rather than one crypto call per query.
const randomBlock = Buffer.alloc(4096);
let randomAt = randomBlock.length;

/** A random 16-bit number (query IDs, the choice of socket). */
export function randomId(): number {
  if (randomAt >= randomBlock.length) {
    randomFillSync(randomBlock);
    randomAt = 0;
  }
  const id = randomBlock.readUInt16BE(randomAt);
  randomAt += 2;
  return id;
}

/**
 * The query itself, or a copy with the first ID `next` finds free on a socket or connection.
 * Queries are never changed once made, and all are made by newQuery: V8 compiles the hot resolver
 * code on the assumption that a query's fields keep the values they were made with, and one
 * reassigned ID (a collision every few thousand queries) threw all of that code away mid-run.
 */
export function withFreeId(
  query: Query,
  inUse: { has(id: number): boolean },
  next: (id: number) => number,
): Query {
  let id = query.id;
  while (inUse.has(id)) id = next(id);
  return id === query.id ? query : newQuery(query.name, query.type, query.dnssec, id, query.message);
}

// dns2's typings omit EDNS's second (options) parameter.
const ednsRecord = Packet.Resource.EDNS as unknown as (
  rdata: object[],
  options: { udpPayloadSize: number },
) => DNS.Packet.Resource;

const QTYPE: Record<RecordType, number> = { A: 1, AAAA: 28 };

/**
 * The query as dns2 would encode it (test/codec.test.ts compares them byte for byte), written
 * directly: going through dns2's Packet cost about 23 µs per query, the largest part of resolving.
 * Header with RD, one question, and an EDNS OPT record advertising EDNS_PAYLOAD, with the DO bit
 * when the query asks for DNSSEC. One pass over the name, into Node's pooled memory.
 */
export function encodeQuery(q: Query): Buffer {
  if (q.message) return withId(q.message, q.id);
  const name = q.name.charCodeAt(q.name.length - 1) === 46 ? q.name.slice(0, -1) : q.name;
  // Anything unusual (a label too long, non-ASCII) is left to dns2, whose behaviour it then keeps.
  if (name.length === 0 || name.length > 253) return encodeWithDns2(q);
  const buf = Buffer.allocUnsafe(12 + name.length + 2 + 4 + 11);
  buf.writeUInt32BE(q.id * 0x10000 + 0x0100, 0); // ID, RD
  buf.writeUInt32BE(0x00010000, 4); // QDCOUNT 1, ANCOUNT 0
  buf.writeUInt32BE(0x00000001, 8); // NSCOUNT 0, ARCOUNT 1: the OPT record
  let lengthAt = 12;
  let at = 13;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      const length = at - lengthAt - 1;
      if (length === 0 || length > 63) return encodeWithDns2(q);
      buf[lengthAt] = length;
      lengthAt = at++;
    } else if (
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 95
    ) {
      buf[at++] = c;
    } else {
      return encodeWithDns2(q);
    }
  }
  const last = at - lengthAt - 1;
  if (last === 0 || last > 63) return encodeWithDns2(q);
  buf[lengthAt] = last;
  buf[at++] = 0;
  buf.writeUInt32BE(QTYPE[q.type] * 0x10000 + 1, at); // QTYPE, class IN
  at += 4;
  // OPT: root name, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE 0, version 0 and the
  // flags (DO is the top bit), no data.
  buf[at] = 0;
  buf.writeUInt16BE(41, at + 1);
  buf.writeUInt16BE(EDNS_PAYLOAD, at + 3);
  buf.writeUInt32BE(q.dnssec ? 0x8000 : 0, at + 5);
  buf.writeUInt16BE(0, at + 9);
  return buf;
}

export function encodeWithDns2(q: Query): Buffer {
  const packet = new Packet();
  packet.header.id = q.id;
  packet.header.rd = 1;
  packet.questions.push(new Packet.Question(q.name, Packet.TYPE[q.type], Packet.CLASS.IN));
  packet.additionals.push(ednsRecord([], { udpPayloadSize: EDNS_PAYLOAD }));
  const buf = packet.toBuffer();
  // dns2 writes no OPT flags: the DO bit is the top bit of the OPT record's flags, 4 bytes from its end.
  if (q.dnssec) buf[buf.length - 4] = (buf[buf.length - 4] as number) | 0x80;
  return buf;
}

export type Decoded =
  | { kind: 'packet'; packet: Message }
  /** The answer to a forwarded message, as the server sent it. */
  | { kind: 'message'; message: Buffer }
  /** Not the answer to this query (wrong ID or question): ignored, as a spoofing attempt might be. */
  | { kind: 'mismatch'; detail: string }
  | { kind: 'malformed'; detail: string };

/** Reads just the 16-bit ID, so a transport can route a datagram before decoding it. */
export function peekId(buf: Buffer): number | undefined {
  return buf.length >= 2 ? buf.readUInt16BE(0) : undefined;
}

export function decodeResponse(buf: Buffer, q: Query): Decoded {
  if (buf.length < 12)
    return { kind: 'malformed', detail: `answer of ${buf.length} bytes is shorter than a DNS header` };
  if (q.message) return forwardedAnswer(buf, q.id, q.message);
  let packet: Message;
  try {
    packet = decodeMessage(buf);
  } catch (err) {
    return { kind: 'malformed', detail: `undecodable answer (${(err as Error).message})` };
  }
  if (packet.id !== q.id)
    return { kind: 'mismatch', detail: `answer ID ${packet.id} does not match query ID ${q.id}` };
  const question = packet.question;
  if (
    packet.qdcount !== 1 ||
    !question ||
    question.name !== lower(q.name) ||
    question.type !== QTYPE[q.type] ||
    question.class !== CLASS_IN
  ) {
    return { kind: 'mismatch', detail: `answer is for another question (${question?.name ?? 'none'})` };
  }
  if (!packet.qr) return { kind: 'malformed', detail: 'answer is not marked as a response' };
  return { kind: 'packet', packet };
}

/** A copy of a message with another ID. */
export function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.allocUnsafe(message.length);
  message.copy(copy);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/**
 * The answer to a forwarded message: the same ID, marked as a response, repeating the question
 * (the name in any case, RFC 4343: a server may echo it as stored, and a client may have mixed
 * the case on purpose). Everything else is the client's to read, as the server sent it.
 */
function forwardedAnswer(buf: Buffer, id: number, asked: Buffer): Decoded {
  if (buf.readUInt16BE(0) !== id)
    return { kind: 'mismatch', detail: `answer ID ${buf.readUInt16BE(0)} does not match query ID ${id}` };
  const end = questionEnd(asked);
  if (buf.readUInt16BE(4) !== 1 || end === undefined || !sameQuestion(asked, buf, end))
    return { kind: 'mismatch', detail: 'answer is for another question' };
  if (((buf[2] as number) & 0x80) === 0)
    return { kind: 'malformed', detail: 'answer is not marked as a response' };
  return { kind: 'message', message: buf };
}

/**
 * Where the first question of a message ends (after its type and class); undefined when it runs
 * past the message or uses a compression pointer, which no question needs.
 */
export function questionEnd(buf: Buffer): number | undefined {
  let at = 12;
  for (;;) {
    if (at >= buf.length) return undefined;
    const len = buf[at] as number;
    if (len === 0) break;
    if (len > 63 || at + 1 + len >= buf.length) return undefined;
    at += 1 + len;
  }
  return at + 5 <= buf.length ? at + 5 : undefined;
}

/** Both hold the question that ends at `end`: its name's letters compared without case, the rest exactly. */
function sameQuestion(asked: Buffer, answer: Buffer, end: number): boolean {
  if (answer.length < end) return false;
  for (let i = 12; i < end - 4; i++) {
    const x = asked[i] as number;
    const y = answer[i] as number;
    if (x === y) continue;
    const folded = x | 0x20;
    if (folded !== (y | 0x20) || folded < 97 || folded > 122) return false;
  }
  return answer.readUInt32BE(end - 4) === asked.readUInt32BE(end - 4);
}

function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c === 46 && i === name.length - 1))
      return name.toLowerCase().replace(/\.$/, '');
  }
  return name;
}

export type Classified =
  | {
      kind: 'final';
      outcome: Outcome;
      addresses: Answer[];
      ttl: number | undefined;
      chain: string[];
      detail?: string;
    }
  /** The answer ended in a CNAME whose target's addresses were not included: ask for the target. */
  | { kind: 'follow'; target: string; chain: string[]; ttl: number | undefined }
  /** Try the next resolver (SERVFAIL, REFUSED, other error codes). */
  | { kind: 'retry'; outcome: Outcome; detail: string };

const RCODE_NAMES: Record<number, string> = {
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};

/**
 * Turns a decoded answer into an outcome, following a CNAME chain inside the answer.
 * `chain` carries the names already followed by earlier queries (loop and depth detection).
 */
export function classify(packet: Message, q: Query, chain: string[]): Classified {
  const rcode = packet.rcode;
  if (rcode === 2) return { kind: 'retry', outcome: 'servfail', detail: 'SERVFAIL' };
  if (rcode === 5) return { kind: 'retry', outcome: 'refused', detail: 'REFUSED' };
  if (rcode !== 0 && rcode !== 3)
    return { kind: 'retry', outcome: 'servfail', detail: RCODE_NAMES[rcode] ?? `rcode ${rcode}` };
  const wanted = QTYPE[q.type];
  const names = chain.slice();
  let current = lower(q.name);
  let ttl: number | undefined;
  for (;;) {
    let addresses: Answer[] | undefined;
    let cname: AnswerRecord | undefined;
    for (const r of packet.answers) {
      if (r.name !== current || r.class !== CLASS_IN) continue;
      if (r.type === wanted) {
        if (r.address === undefined)
          return final('malformed', [], ttl, names, `invalid ${q.type} record data`);
        ttl = ttl === undefined ? r.ttl : Math.min(ttl, r.ttl);
        addresses ??= [];
        if (!addresses.some((a) => a.address === r.address))
          addresses.push({ address: r.address, ttl: r.ttl });
      } else if (r.type === TYPE.CNAME && !cname) {
        cname = r;
      }
    }
    if (addresses) return final('answer', addresses, ttl, names);
    if (!cname) break;
    const target = cname.target ?? '';
    if (target === '') return final('malformed', [], ttl, names, 'CNAME without a target');
    if (names.includes(target))
      return final('malformed', [], ttl, names, `CNAME loop: ${[...names, target].join(' > ')}`);
    if (names.length > MAX_CHAIN) {
      return final(
        'malformed',
        [],
        ttl,
        names,
        `CNAME chain longer than ${MAX_CHAIN}: ${names.join(' > ')} > …`,
      );
    }
    ttl = ttl === undefined ? cname.ttl : Math.min(ttl, cname.ttl);
    names.push(target);
    current = target;
  }
  const negativeTtl = packet.soa ? Math.min(packet.soa.ttl, packet.soa.minimum) : undefined;
  if (rcode === 3) return final('nxdomain', [], negativeTtl ?? ttl, names);
  if (names.length > chain.length) return { kind: 'follow', target: current, chain: names, ttl };
  return final('nodata', [], negativeTtl ?? ttl, names);
}

function final(
  outcome: Outcome,
  addresses: Answer[],
  ttl: number | undefined,
  chain: string[],
  detail?: string,
): Classified {
  return { kind: 'final', outcome, addresses, ttl, chain, detail };
}
