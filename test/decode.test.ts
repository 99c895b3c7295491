import DNS from 'dns2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../src/address.js';
import '../src/resolver/codec-speed.js';
import { decodeMessage, ipv6 } from '../src/resolver/decode.js';

const { Packet } = DNS;

const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ipv4 = fc.ipV4();
const ipv6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Runs of zero groups, where the compressed spelling is decided.
  fc
    .array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xdb8, 0x2001), { minLength: 8, maxLength: 8 })
    .map((groups) => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
      return new Uint8Array(b);
    }),
);
const record = fc.oneof(
  fc.record({ name, type: fc.constant(1), ttl: fc.nat(0xffffffff), address: ipv4 }),
  fc.record({
    name,
    type: fc.constant(28),
    ttl: fc.nat(0xffffffff),
    address: ipv6Bytes.map((b) => ipv6(Buffer.from(b), 0)),
  }),
  fc.record({ name, type: fc.constant(5), ttl: fc.nat(0xffffffff), domain: name }),
  fc.record({ name, type: fc.constant(16), ttl: fc.nat(100), data: fc.constant(['some text']) }),
);

describe('the response reader', () => {
  it('reads what dns2 reads from messages dns2 writes (names lower-cased)', () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.nat(0xffff),
          rcode: fc.constantFrom(0, 2, 3, 5),
          ad: fc.boolean(),
          tc: fc.boolean(),
          qname: name,
          qtype: fc.constantFrom(1, 28),
          answers: fc.array(record, { maxLength: 6 }),
          soa: fc.option(fc.record({ ttl: fc.nat(100000), minimum: fc.nat(100000) })),
          edns: fc.boolean(),
        }),
        (m) => {
          const p = new Packet();
          p.header.id = m.id;
          p.header.qr = 1;
          p.header.rcode = m.rcode;
          p.header.tc = m.tc ? 1 : 0;
          (p.header as { ad?: number }).ad = m.ad ? 1 : 0;
          p.questions.push(new Packet.Question(m.qname, m.qtype, 1));
          for (const a of m.answers) p.answers.push({ class: 1, ...a } as unknown as DNS.Packet.Resource);
          if (m.soa)
            p.authorities.push({
              name: 'example',
              type: 6,
              class: 1,
              ttl: m.soa.ttl,
              primary: 'ns.example',
              admin: 'hostmaster.example',
              serial: 1,
              refresh: 2,
              retry: 3,
              expiration: 4,
              minimum: m.soa.minimum,
            } as unknown as DNS.Packet.Resource);
          if (m.edns) p.additionals.push(Packet.Resource.EDNS([]));
          const buf = p.toBuffer();
          const theirs = Packet.parse(buf);
          const ours = decodeMessage(buf);
          expect(ours.id).toBe(theirs.header.id);
          expect(ours.rcode).toBe(theirs.header.rcode);
          expect(ours.tc).toBe(theirs.header.tc === 1);
          expect(ours.ad).toBe((theirs.header as { ad?: number }).ad === 1);
          expect(ours.question).toEqual({ name: m.qname.toLowerCase(), type: m.qtype, class: 1 });
          expect(ours.answers.map((r) => ({ ...r }))).toEqual(
            theirs.answers.map((r) => ({
              name: r.name.toLowerCase(),
              type: r.type,
              class: r.class,
              ttl: r.ttl,
              ...(r.type === 1 || r.type === 28 ? { address: r.address } : {}),
              ...(r.type === 5 ? { target: (r.domain as string).toLowerCase() } : {}),
            })),
          );
          expect(ours.soa).toEqual(m.soa ?? undefined);
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('spells IPv6 addresses as the rest of dnsfence does (RFC 5952)', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const text = ipv6(Buffer.from(bytes), 0);
        expect(text).toBe(parseAddress(text)?.text);
        expect(Buffer.from(bytes)).toEqual(Buffer.from(hexGroups(text)));
      }),
      { numRuns: 5000, seed: 8 },
    );
  });

  it('refuses what is not a message: short, truncated, compression loops; never hangs', () => {
    expect(() => decodeMessage(Buffer.alloc(5))).toThrow(/shorter than a DNS header/);
    const q = Buffer.from(
      '00010100000100000000000003777777076578616d706c6500000100 01'.replace(/ /g, ''),
      'hex',
    );
    expect(decodeMessage(q).question).toEqual({ name: 'www.example', type: 1, class: 1 });
    expect(() => decodeMessage(q.subarray(0, q.length - 2))).toThrow(/ends inside a record/);
    // One answer whose owner name points at itself.
    const loop = Buffer.concat([q, Buffer.from('c01d000100010000001e000400000000', 'hex')]);
    loop.writeUInt16BE(1, 6);
    expect(() => decodeMessage(loop)).toThrow(/compression loop/);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 80 }), (bytes) => {
        try {
          decodeMessage(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 5000, seed: 9 },
    );
  });
});

function hexGroups(text: string): number[] {
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail ?? '');
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 255]);
}
