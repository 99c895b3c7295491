import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { sortAddresses } from '../src/address.js';

/** The order by definition: IPv4 first, then the address bytes, then the prefix length. */
function reference(a: string, b: string): number {
  const key = (t: string) => {
    const [addr, len] = t.split('/') as [string, string | undefined];
    const ip = ipaddr.parse(addr);
    return [ip.kind() === 'ipv4' ? 0 : 1, ...ip.toByteArray(), Number(len ?? 999)];
  };
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? -1) - (kb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

const v4 = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.option(fc.integer({ min: 0, max: 32 })))
  .map(([b, len]) => `${ipaddr.fromByteArray([...b]).toString()}${len === null ? '' : `/${len}`}`);
const v6 = fc
  .tuple(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.boolean(),
    fc.option(fc.integer({ min: 0, max: 128 })),
  )
  .map(([b, sparse, len]) => {
    // Sparse addresses exercise the :: compression.
    const bytes = sparse ? [...b].map((x, i) => (i % 5 === 0 ? x : 0)) : [...b];
    return `${ipaddr.fromByteArray(bytes).toString()}${len === null ? '' : `/${len}`}`;
  });

describe('sortAddresses', () => {
  it('orders IPv4 before IPv6, then by address bytes, then by prefix length', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v6), { maxLength: 40 }), (list) => {
        expect(sortAddresses(list)).toEqual([...list].sort(reference));
      }),
    );
  });
});
