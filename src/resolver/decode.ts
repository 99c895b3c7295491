/**
 * Reads a DNS response into just what the resolver uses: the header's flags, the question, the
 * answer section's A, AAAA and CNAME records and the authority section's SOA. dns2's parser built
 * a Packet, a Reader, a Resource per record and an array of numbers per address for every
 * answer; with 20,000 answers a sync spent more time collecting that garbage than resolving.
 * test/decode.test.ts checks this reader against dns2's on generated messages.
 */

export const TYPE = { A: 1, CNAME: 5, SOA: 6, AAAA: 28, OPT: 41 } as const;
export const CLASS_IN = 1;

export interface AnswerRecord {
  /** Lower-case, without the final dot. */
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A and AAAA: the address in its canonical spelling; undefined when the data has the wrong length. */
  address: string | undefined;
  /** CNAME: the target, lower-case, without the final dot. */
  target: string | undefined;
}

export interface Message {
  id: number;
  qr: boolean;
  /** Truncated: the full answer needs TCP. */
  tc: boolean;
  /** Authenticated Data: the (validating) resolver says it checked the answer's DNSSEC signatures. */
  ad: boolean;
  /** With the extended bits of an OPT record, as RFC 6891 defines them. */
  rcode: number;
  qdcount: number;
  ancount: number;
  question: { name: string; type: number; class: number } | undefined;
  answers: AnswerRecord[];
  /** The authority section's SOA, for the negative-caching TTL (RFC 2308). */
  soa: { ttl: number; minimum: number } | undefined;
}

class Malformed extends Error {}

/** Throws an Error whose message says what is wrong when `buf` is not a DNS message. */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new Malformed(`${buf.length} bytes is shorter than a DNS header`);
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const message: Message = {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    tc: (flags & 0x0200) !== 0,
    ad: (flags & 0x0020) !== 0,
    rcode: flags & 0x000f,
    qdcount,
    ancount,
    question: undefined,
    answers: [],
    soa: undefined,
  };
  const at = { offset: 12 };
  for (let i = 0; i < qdcount; i++) {
    const name = readName(buf, at);
    need(buf, at.offset, 4);
    const question = { name, type: buf.readUInt16BE(at.offset), class: buf.readUInt16BE(at.offset + 2) };
    at.offset += 4;
    if (i === 0) message.question = question;
  }
  for (let i = 0; i < ancount; i++) {
    message.answers.push(readRecord(buf, at, true));
  }
  // Like dns2, a record beyond the answer section that cannot be read ends the reading, not the message.
  try {
    for (let i = 0; i < nscount; i++) {
      const owner = at.offset;
      const record = readRecord(buf, at, false);
      if (record.type === TYPE.SOA && !message.soa) message.soa = readSoa(buf, owner, record.ttl);
    }
    for (let i = 0; i < arcount; i++) {
      const start = at.offset;
      readName(buf, at);
      need(buf, at.offset, 10);
      if (buf.readUInt16BE(at.offset) === TYPE.OPT) {
        // The OPT record's TTL field holds the upper 8 bits of the RCODE.
        message.rcode |= (buf[at.offset + 4] as number) << 4;
      }
      at.offset = start;
      readRecord(buf, at, false);
    }
  } catch {
    // ignored, as above
  }
  return message;
}

function need(buf: Buffer, offset: number, bytes: number): void {
  if (offset + bytes > buf.length) throw new Malformed(`message ends inside a record (${buf.length} bytes)`);
}

/**
 * One resource record; `keep` records (the answer section) come back with their data read, the
 * others only with their type and TTL. The offset moves past the record's data by its RDLENGTH.
 */
function readRecord(buf: Buffer, at: { offset: number }, keep: boolean): AnswerRecord {
  const name = keep ? readName(buf, at) : skipName(buf, at);
  need(buf, at.offset, 10);
  const type = buf.readUInt16BE(at.offset);
  const cls = buf.readUInt16BE(at.offset + 2);
  // RFC 2181 section 8: a TTL with the high bit set is treated as the largest positive one (as dns2 does).
  const ttl = Math.min(buf.readUInt32BE(at.offset + 4), 0x7fffffff);
  const length = buf.readUInt16BE(at.offset + 8);
  const data = at.offset + 10;
  need(buf, data, length);
  at.offset = data + length;
  // Every record has the same fields, in the same order: one shape for V8 wherever records are read.
  let address: string | undefined;
  let target: string | undefined;
  if (keep && type === TYPE.A && length === 4) address = ipv4(buf, data);
  else if (keep && type === TYPE.AAAA && length === 16) address = ipv6(buf, data);
  else if (keep && type === TYPE.CNAME) target = readName(buf, { offset: data });
  return { name, type, class: cls, ttl, address, target };
}

function readSoa(buf: Buffer, owner: number, ttl: number): { ttl: number; minimum: number } | undefined {
  const at = { offset: owner };
  skipName(buf, at);
  const length = buf.readUInt16BE(at.offset + 8);
  const end = at.offset + 10 + length;
  at.offset += 10;
  skipName(buf, at); // MNAME
  skipName(buf, at); // RNAME
  // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM
  if (at.offset + 20 > end) return undefined;
  return { ttl, minimum: buf.readUInt32BE(at.offset + 16) };
}

/** The question's name, read once per message: answers' owner names usually point at it. */
let questionBuf: Buffer | undefined;
let questionName = '';
let questionEnd = 0;

/** A name, lower-case, without the final dot; compression pointers followed, loops refused. */
function readName(buf: Buffer, at: { offset: number }): string {
  const first = at.offset;
  if (
    buf === questionBuf &&
    first + 1 < buf.length &&
    buf[first] === 0xc0 &&
    buf[first + 1] === 12 &&
    first >= questionEnd
  ) {
    at.offset = first + 2;
    return questionName;
  }
  const name = readLabels(buf, at);
  if (first === 12) {
    questionBuf = buf;
    questionName = name;
    questionEnd = at.offset;
  }
  return name;
}

function readLabels(buf: Buffer, at: { offset: number }): string {
  let name = '';
  let offset = at.offset;
  let resume = -1;
  let octets = 1;
  for (let jumps = 0; ;) {
    if (offset >= buf.length) throw new Malformed('name runs past the end of the message');
    const len = buf[offset] as number;
    if (len === 0) {
      offset += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (offset + 1 >= buf.length) throw new Malformed('name runs past the end of the message');
      if (resume < 0) resume = offset + 2;
      // A pointer must point backwards; a loop would otherwise never end.
      const target = ((len & 0x3f) << 8) | (buf[offset + 1] as number);
      if (target >= offset || ++jumps > 64) throw new Malformed('name compression loop');
      offset = target;
      continue;
    }
    if (len & 0xc0) throw new Malformed(`invalid label length byte 0x${len.toString(16)}`);
    octets += len + 1;
    if (octets > 255) throw new Malformed('name exceeds 255 octets');
    if (offset + 1 + len > buf.length) throw new Malformed('name runs past the end of the message');
    const label = escapeDots(buf.toString('latin1', offset + 1, offset + 1 + len));
    name = name === '' ? label : `${name}.${label}`;
    offset += 1 + len;
  }
  at.offset = resume >= 0 ? resume : offset;
  return hasUpper(name) ? name.toLowerCase() : name;
}

/**
 * A dot inside a label (an SOA mailbox's `john.doe`, or a crafted name) as the presentation format
 * writes it, `\.`: joined plainly, the label `evil.avcloud` under `intra2net.com` would read as a
 * name below `avcloud.intra2net.com`.
 */
export const escapeDots = (label: string) => (label.includes('.') ? label.replaceAll('.', '\\.') : label);

/** Moves past a name without building it (records whose owner the resolver does not look at). */
function skipName(buf: Buffer, at: { offset: number }): string {
  let offset = at.offset;
  for (;;) {
    if (offset >= buf.length) throw new Malformed('name runs past the end of the message');
    const len = buf[offset] as number;
    if (len === 0) {
      at.offset = offset + 1;
      return '';
    }
    if ((len & 0xc0) === 0xc0) {
      at.offset = offset + 2;
      return '';
    }
    if (len & 0xc0) throw new Malformed(`invalid label length byte 0x${len.toString(16)}`);
    offset += 1 + len;
  }
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return true;
  }
  return false;
}

function ipv4(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
export function ipv6(buf: Buffer, at: number): string {
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (buf.readUInt16BE(at + 2 * i) === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += buf.readUInt16BE(at + 2 * i).toString(16);
  }
  return text;
}
