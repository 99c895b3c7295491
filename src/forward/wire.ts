import { escapeDots } from '../resolver/decode.js';
/**
 * The few parts of a DNS message the forwarder reads and writes itself: the question and the
 * EDNS payload size of a client's query, and the short answers it gives on its own (REFUSED,
 * SERVFAIL, NOTIMP, RFC 8482's answer to ANY, a truncated answer). Everything else passes through
 * as the client and the upstream wrote it.
 */

export const QTYPE = { A: 1, CNAME: 5, HINFO: 13, AAAA: 28, OPT: 41, ANY: 255 } as const;
export const RCODE = { SERVFAIL: 2, NOTIMP: 4, REFUSED: 5 } as const;

/** Without EDNS, a UDP answer may hold 512 bytes (RFC 1035); with it, what the client says, at least 512. */
const CLASSIC_UDP = 512;
/** The payload size dnsfence offers in its own answers (RFC 9715). */
const OWN_PAYLOAD = 1232;

/** A client's query, as far as the forwarder needs it. */
export interface ClientQuery {
  id: number;
  opcode: number;
  /** Lower case, without the final dot; `''` for the root. */
  name: string;
  type: number;
  class: number;
  /** Where the question ends: the message up to here is header and question. */
  questionEnd: number;
  /** The largest answer the client takes over UDP. */
  udpSize: number;
  /** The query carried an OPT record (EDNS). */
  edns: boolean;
}

/**
 * The query in a datagram or TCP frame; undefined for anything that is not one (too short, a
 * response, not exactly one question, a name that cannot be read, records that run past the end):
 * such a message is dropped unanswered, as resolvers do.
 */
export function readQuery(buf: Buffer): ClientQuery | undefined {
  if (buf.length < 17) return undefined;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) !== 0 || buf.readUInt16BE(4) !== 1) return undefined;
  let at = 12;
  let name = '';
  for (;;) {
    const len = buf[at] as number;
    if (len === 0) break;
    // A question needs no compression pointer, and one would let a query point anywhere.
    if (len > 63 || at + 1 + len >= buf.length || name.length + len > 253) return undefined;
    const label = escapeDots(buf.toString('latin1', at + 1, at + 1 + len));
    name = name === '' ? label : `${name}.${label}`;
    at += 1 + len;
  }
  at += 1;
  if (at + 4 > buf.length) return undefined;
  const query: ClientQuery = {
    id: buf.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    name: lower(name),
    type: buf.readUInt16BE(at),
    class: buf.readUInt16BE(at + 2),
    questionEnd: at + 4,
    udpSize: CLASSIC_UDP,
    edns: false,
  };
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  if (records > 0 && !readOpt(buf, query, records)) return undefined;
  return query;
}

/** Walks the records after the question for the OPT record; false when they run past the end. */
function readOpt(buf: Buffer, query: ClientQuery, records: number): boolean {
  let at = query.questionEnd;
  for (let i = 0; i < records; i++) {
    const end = skipName(buf, at);
    if (end === undefined || end + 10 > buf.length) return false;
    const type = buf.readUInt16BE(end);
    const length = buf.readUInt16BE(end + 8);
    if (end + 10 + length > buf.length) return false;
    if (type === QTYPE.OPT) {
      query.edns = true;
      query.udpSize = Math.max(CLASSIC_UDP, buf.readUInt16BE(end + 2));
    }
    at = end + 10 + length;
  }
  return true;
}

/** The offset after a name (labels or a compression pointer); undefined when it runs past the end. */
function skipName(buf: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    if (at >= buf.length) return undefined;
    const len = buf[at] as number;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= buf.length ? at + 2 : undefined;
    if (len > 63) return undefined;
    at += 1 + len;
  }
}

function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}

/** Whether an answer's answer section holds a CNAME record (its chain may lead into a list). */
export function hasCname(buf: Buffer, questionEnd: number): boolean {
  const count = buf.length >= 12 ? buf.readUInt16BE(6) : 0;
  let at = questionEnd;
  for (let i = 0; i < count; i++) {
    const end = skipName(buf, at);
    if (end === undefined || end + 10 > buf.length) return false;
    if (buf.readUInt16BE(end) === QTYPE.CNAME) return true;
    at = end + 10 + buf.readUInt16BE(end + 8);
  }
  return false;
}

/** The response code of an answer (the header's four bits). */
export const rcodeOf = (buf: Buffer): number => (buf.length >= 4 ? (buf[3] as number) & 0x0f : 0);

/**
 * dnsfence's own answer to a query: header (ID, opcode and RD copied; QR and RA set), the
 * question as asked, `answer` if any, and an OPT record when the query had one.
 */
export function reply(asked: Buffer, query: ClientQuery, rcode: number, answer?: Buffer): Buffer {
  const opt = query.edns ? 11 : 0;
  const out = Buffer.alloc(query.questionEnd + (answer?.length ?? 0) + opt);
  asked.copy(out, 0, 0, query.questionEnd);
  const rd = (asked[2] as number) & 0x01;
  out[2] = 0x80 | (query.opcode << 3) | rd;
  out[3] = 0x80 | rcode;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answer ? 1 : 0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  let at = query.questionEnd;
  if (answer) at += answer.copy(out, at);
  if (opt) writeOpt(out, at);
  return out;
}

function writeOpt(out: Buffer, at: number): void {
  out[at] = 0; // root
  out.writeUInt16BE(QTYPE.OPT, at + 1);
  out.writeUInt16BE(OWN_PAYLOAD, at + 3);
  out.writeUInt32BE(0, at + 5); // extended RCODE, version 0, no flags
  out.writeUInt16BE(0, at + 9); // no options
}

/**
 * RFC 8482: an ANY query gets one HINFO record whose CPU field says "RFC8482" instead of every
 * record of the name, so the forwarder never amplifies a spoofed query into a large answer.
 */
export function anyAnswer(asked: Buffer, query: ClientQuery): Buffer {
  const cpu = Buffer.from('RFC8482', 'latin1');
  const rdata = 1 + cpu.length + 1;
  const record = Buffer.alloc(2 + 10 + rdata);
  record.writeUInt16BE(0xc00c, 0); // the question's name
  record.writeUInt16BE(QTYPE.HINFO, 2);
  record.writeUInt16BE(query.class, 4);
  record.writeUInt32BE(3789, 6); // the TTL RFC 8482's first implementers chose
  record.writeUInt16BE(rdata, 10);
  record[12] = cpu.length;
  cpu.copy(record, 13);
  record[13 + cpu.length] = 0; // OS: empty
  return reply(asked, query, 0, record);
}

/**
 * An answer too large for the client's UDP size, cut to its header and question with TC set: the
 * client asks again over TCP. The upstream's flags and response code stay.
 */
export function truncated(answer: Buffer, query: ClientQuery): Buffer {
  const opt = query.edns ? 11 : 0;
  const out = Buffer.alloc(query.questionEnd + opt);
  answer.copy(out, 0, 0, query.questionEnd);
  out[2] = (out[2] as number) | 0x02;
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  if (opt) writeOpt(out, query.questionEnd);
  return out;
}
