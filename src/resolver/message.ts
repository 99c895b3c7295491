import { randomInt } from 'node:crypto';
import DNS from 'dns2';
import './codec-speed.js';
import { parseAddress, type Family } from '../address.js';
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
}

export function newQuery(name: string, type: RecordType, id = randomInt(0x10000)): Query {
  return { id, name, type };
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
  return id === query.id ? query : newQuery(query.name, query.type, id);
}

// dns2's typings omit EDNS's second (options) parameter.
const ednsRecord = Packet.Resource.EDNS as unknown as (
  rdata: object[],
  options: { udpPayloadSize: number },
) => DNS.Packet.Resource;

const QTYPE: Record<RecordType, number> = { A: 1, AAAA: 28 };
const LDH = /^[a-z0-9_-]{1,63}$/i;

/**
 * The query as dns2 would encode it (test/codec.test.ts compares them byte for byte), written
 * directly: going through dns2's Packet cost about 23 µs per query, the largest part of resolving.
 * Header with RD, one question, and an EDNS OPT record advertising EDNS_PAYLOAD.
 */
export function encodeQuery(q: Query): Buffer {
  const labels = q.name.replace(/\.$/, '').split('.');
  // Anything unusual (a label too long, non-ASCII) is left to dns2, whose behaviour it then keeps.
  if (!labels.every((l) => LDH.test(l)) || q.name.length > 253) return encodeWithDns2(q);
  const nameLength = labels.reduce((n, l) => n + 1 + l.length, 1);
  const buf = Buffer.alloc(12 + nameLength + 4 + 11);
  buf.writeUInt16BE(q.id, 0);
  buf.writeUInt16BE(0x0100, 2); // RD
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let at = 12;
  for (const label of labels) {
    buf[at++] = label.length;
    at += buf.write(label, at, 'latin1');
  }
  buf[at++] = 0;
  buf.writeUInt16BE(QTYPE[q.type], at);
  buf.writeUInt16BE(1, at + 2); // IN
  at += 4;
  // OPT: root name, TYPE 41, CLASS = UDP payload size, TTL 0 (no extended RCODE, version 0, no DO), no data.
  buf[at] = 0;
  buf.writeUInt16BE(41, at + 1);
  buf.writeUInt16BE(EDNS_PAYLOAD, at + 3);
  return buf;
}

export function encodeWithDns2(q: Query): Buffer {
  const packet = new Packet();
  packet.header.id = q.id;
  packet.header.rd = 1;
  packet.questions.push(new Packet.Question(q.name, Packet.TYPE[q.type], Packet.CLASS.IN));
  packet.additionals.push(ednsRecord([], { udpPayloadSize: EDNS_PAYLOAD }));
  return packet.toBuffer();
}

export type Decoded =
  | { kind: 'packet'; packet: DNS.Packet }
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
  let packet: DNS.Packet;
  try {
    packet = Packet.parse(buf);
  } catch (err) {
    return { kind: 'malformed', detail: `undecodable answer (${(err as Error).message})` };
  }
  const h = packet.header;
  if (h.id !== q.id) return { kind: 'mismatch', detail: `answer ID ${h.id} does not match query ID ${q.id}` };
  const question = packet.questions[0];
  if (
    h.qdcount !== 1 ||
    !question ||
    question.name.toLowerCase() !== q.name.toLowerCase() ||
    question.type !== Packet.TYPE[q.type] ||
    question.class !== Packet.CLASS.IN
  ) {
    return { kind: 'mismatch', detail: `answer is for another question (${question?.name ?? 'none'})` };
  }
  if (h.qr !== 1) return { kind: 'malformed', detail: 'answer is not marked as a response' };
  if (packet.answers.length !== h.ancount) {
    return {
      kind: 'malformed',
      detail: `answer section holds ${packet.answers.length} of ${h.ancount} records`,
    };
  }
  return { kind: 'packet', packet };
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
export function classify(packet: DNS.Packet, q: Query, chain: string[]): Classified {
  const rcode = packet.header.rcode;
  if (rcode === 2) return { kind: 'retry', outcome: 'servfail', detail: 'SERVFAIL' };
  if (rcode === 5) return { kind: 'retry', outcome: 'refused', detail: 'REFUSED' };
  if (rcode !== 0 && rcode !== 3)
    return { kind: 'retry', outcome: 'servfail', detail: RCODE_NAMES[rcode] ?? `rcode ${rcode}` };
  const wanted = Packet.TYPE[q.type];
  const names = [...chain];
  let current = q.name.toLowerCase();
  let ttl: number | undefined;
  const minTtl = (t: number) => {
    ttl = ttl === undefined ? t : Math.min(ttl, t);
  };
  for (;;) {
    const records = packet.answers.filter(
      (r) => r.name.toLowerCase() === current && r.class === Packet.CLASS.IN,
    );
    const hits = records.filter((r) => r.type === wanted);
    if (hits.length > 0) {
      const addresses: Answer[] = [];
      for (const r of hits) {
        const parsed = r.address ? parseAddress(r.address) : undefined;
        const family = q.type === 'A' ? 'ipv4' : 'ipv6';
        if (!parsed || parsed.family !== family || parsed.prefix !== (family === 'ipv4' ? 32 : 128)) {
          return final('malformed', [], ttl, names, `invalid ${q.type} record data "${r.address ?? ''}"`);
        }
        minTtl(r.ttl);
        if (!addresses.some((a) => a.address === parsed.text))
          addresses.push({ address: parsed.text, ttl: r.ttl });
      }
      return final('answer', addresses, ttl, names);
    }
    const cname = records.find((r) => r.type === Packet.TYPE.CNAME);
    if (!cname) break;
    const target = (cname.domain ?? '').toLowerCase().replace(/\.$/, '');
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
    minTtl(cname.ttl);
    names.push(target);
    current = target;
  }
  const negativeTtl = soaMinimum(packet);
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
  return { kind: 'final', outcome, addresses, ttl, chain, ...(detail ? { detail } : {}) };
}

/** RFC 2308: a negative answer is cached for min(SOA TTL, SOA minimum). */
function soaMinimum(packet: DNS.Packet): number | undefined {
  const soa = packet.authorities.find((r) => r.type === Packet.TYPE.SOA);
  if (!soa) return undefined;
  return Math.min(soa.ttl, soa.minimum ?? soa.ttl);
}
