import { describe, expect, it } from 'vitest';
import type { ListConfig } from '../src/config/types.js';
import { learnFrom } from '../src/forward/learn.js';
import { ListIndex } from '../src/forward/match.js';
import { readQuery, type ClientQuery } from '../src/forward/wire.js';
import { decodeMessage } from '../src/resolver/decode.js';

// Names as DNS carries them, label by label, built by hand: a label may hold a dot, which no
// encoder from a dotted name can write.

const wire = (labels: string[]) =>
  Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

function message(flags: number, question: string[], answers: Buffer[]): Buffer {
  return Buffer.concat([
    u16(4711),
    u16(flags),
    u16(1),
    u16(answers.length),
    u16(0),
    u16(0),
    wire(question),
    u16(1),
    u16(1),
    ...answers,
  ]);
}

const cname = (owner: string[], target: string[]) => {
  const data = wire(target);
  return Buffer.concat([wire(owner), u16(5), u16(1), u32(60), u16(data.length), data]);
};
const a = (owner: string[], address: number[]) =>
  Buffer.concat([wire(owner), u16(1), u16(1), u32(60), u16(4), Buffer.from(address)]);

const index = new ListIndex([
  { name: 'av', names: [], wildcards: ['*.avcloud.intra2net.com'] } as unknown as ListConfig,
]);

describe('names with a dot inside a label', () => {
  const crafted = ['evil.avcloud', 'intra2net', 'com'];

  it('are read with the dot escaped, so they never read as a name below avcloud.intra2net.com', () => {
    const query = readQuery(message(0x0100, crafted, [])) as ClientQuery;
    expect(query.name).toBe('evil\\.avcloud.intra2net.com');
    const answer = decodeMessage(message(0x8180, ['x', 'example'], [cname(['x', 'example'], crafted)]));
    expect(answer.answers[0]).toMatchObject({ target: 'evil\\.avcloud.intra2net.com' });
  });

  it('teach no list, asked for or in the CNAME chain', () => {
    const asked = message(0x0100, crafted, []);
    const query = readQuery(asked) as ClientQuery;
    const direct = message(0x8180, crafted, [a(crafted, [203, 0, 113, 66])]);
    expect(
      learnFrom(query, direct, index.match(query.name), index, '192.0.2.53:53', '192.0.2.100'),
    ).toBeUndefined();

    const via = readQuery(message(0x0100, ['www', 'example'], [])) as ClientQuery;
    const chained = message(
      0x8180,
      ['www', 'example'],
      [cname(['www', 'example'], crafted), a(crafted, [203, 0, 113, 66])],
    );
    expect(
      learnFrom(via, chained, index.match(via.name), index, '192.0.2.53:53', '192.0.2.100'),
    ).toBeUndefined();

    // The same answer through a real name below the wildcard is learned.
    const real = ['z', 'avcloud', 'intra2net', 'com'];
    const ok = message(
      0x8180,
      ['www', 'example'],
      [cname(['www', 'example'], real), a(real, [203, 0, 113, 7])],
    );
    expect(learnFrom(via, ok, index.match(via.name), index, '192.0.2.53:53', '192.0.2.100')?.matches).toEqual(
      [{ list: 'av', entry: '*.avcloud.intra2net.com', name: 'z.avcloud.intra2net.com' }],
    );
  });
});
