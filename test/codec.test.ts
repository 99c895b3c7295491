import fc from 'fast-check';
import DNS from 'dns2';
import { describe, expect, it } from 'vitest';
import { bitsToBuffer, original, readBits, writeBits } from '../src/resolver/codec-speed.js';
import { encodeQuery, encodeWithDns2, newQuery, type RecordType } from '../src/resolver/message.js';

describe("dns2's codec, sped up", () => {
  it('reads exactly what dns2 reads, aligned or not, and fails where it fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 12 }),
        fc.nat(100),
        fc.integer({ min: 1, max: 32 }),
        (bytes, offset, size) => {
          const buffer = Buffer.from(bytes);
          const run = (fn: typeof readBits) => {
            const r = { buffer, offset };
            try {
              return { value: fn.call(r, size), offset: r.offset };
            } catch {
              return 'throws';
            }
          };
          expect(run(readBits)).toEqual(run(original.read as typeof readBits));
        },
      ),
      { numRuns: 3000, seed: 1 },
    );
  });

  it('writes exactly the bytes dns2 writes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 1, max: 32 })), { maxLength: 10 }),
        (fields) => {
          const fast = { buffer: [] as number[] };
          const slow = { buffer: [] as number[] };
          for (const [d, size] of fields) {
            writeBits.call(fast, d, size);
            (original.write as typeof writeBits).call(slow, d, size);
          }
          expect(fast.buffer).toEqual(slow.buffer);
          expect(bitsToBuffer.call(fast)).toEqual((original.toBuffer as typeof bitsToBuffer).call(slow));
        },
      ),
      { numRuns: 3000, seed: 2 },
    );
  });

  it('encodes a query exactly as dns2 does, for any name, with or without the DO bit', () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9_-]{1,70}$/);
    fc.assert(
      fc.property(
        fc.nat(0xffff),
        fc.array(fc.oneof(label, fc.string({ minLength: 1, maxLength: 5 })), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom<RecordType>('A', 'AAAA'),
        fc.boolean(),
        (id, labels, dot, type, dnssec) => {
          const q = newQuery(`${labels.join('.')}${dot ? '.' : ''}`, type, dnssec, id);
          const encoded = encodeQuery(q);
          expect(encoded).toEqual(encodeWithDns2(q));
          // The OPT record is last: its flags (DO is the top bit) 4 bytes from the end.
          expect(encoded.readUInt16BE(encoded.length - 4)).toBe(dnssec ? 0x8000 : 0);
        },
      ),
      { numRuns: 3000, seed: 3 },
    );
  });

  it('round-trips a real message', () => {
    const p = new DNS.Packet();
    p.header.id = 4242;
    p.questions.push(new DNS.Packet.Question('www.example.com', 28, 1));
    p.answers.push({
      name: 'www.example.com',
      type: 28,
      class: 1,
      ttl: 300,
      address: '2001:db8::1',
    } as DNS.Packet.Resource);
    const back = DNS.Packet.parse(p.toBuffer());
    expect(back.header.id).toBe(4242);
    expect(back.answers[0]?.address).toBe('2001:db8::1');
  });
});
