import { startKnot } from '../helpers.js';

/**
 * The benchmark's DNS server: Knot DNS, a fast multi-threaded authoritative server, in its own
 * processes on 127.0.0.1. Serves n0..n<N-1>.bench.example with one A and one AAAA each (every
 * A address shared by the names 250 apart, as CDN and hosting addresses are); `change(k)` moves
 * the A records of k names. The project's own dns2 test server is single-threaded JavaScript:
 * it was the bottleneck of every client measured against it, and hid their differences.
 */
export async function startZone(
  names: number,
): Promise<{ port: number; change(k: number): Promise<void>; stop(): Promise<void> }> {
  const a = (i: number, gen: number) =>
    `${gen % 2 ? 198 : 203}.${gen % 2 ? 51 : 0}.${gen % 2 ? 100 : 113}.${(i % 250) + 1}`;
  const aaaa = (i: number) => `2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`;
  const gens = new Array<number>(names).fill(0);
  const records = () => gens.flatMap((gen, i) => [`n${i} A ${a(i, gen)}`, `n${i} AAAA ${aaaa(i)}`]);
  const knot = await startKnot({ 'bench.example': { records: records() } });
  // A benchmark that fails part-way must not leave its DNS server running (startKnot also kills it at exit).
  let round = 0;
  return {
    port: knot.port,
    change: async (k) => {
      round += 1;
      for (let i = 0; i < k; i++) {
        const n = (i * 97 + round * 13) % names;
        gens[n] = (gens[n] as number) + 1;
      }
      knot.update('bench.example', records());
    },
    stop: () => knot.stop(),
  };
}
