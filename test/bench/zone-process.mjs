// A DNS server for the benchmark, in its own process so it does not share the measured event loop.
// Serves n0..n<N-1>.bench.example with one A and one AAAA each; "change K SEED" on stdin moves K names.
import { createInterface } from 'node:readline';
import { ZoneServer } from '../../dist/src/demo/dns-server.js';

const count = Number(process.argv[2] ?? 10000);
const zone = new ZoneServer();
const a = (i, gen) => `${gen % 2 ? 198 : 203}.${gen % 2 ? 51 : 0}.${gen % 2 ? 100 : 113}.${(i % 250) + 1}`;
for (let i = 0; i < count; i++)
  zone.set(`n${i}.bench.example`, {
    a: [a(i, 0)],
    aaaa: [`2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}`],
    ttl: 300,
  });
zone.log.push = () => 0; // no query log: it would grow without bound
const port = await zone.start();
process.stdout.write(`${port}\n`);
let gen = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, k] = line.split(' ');
  if (cmd === 'change') {
    gen += 1;
    for (let i = 0; i < Number(k); i++) {
      const n = (i * 97 + gen * 13) % count;
      zone.set(`n${n}.bench.example`, {
        a: [a(n, gen)],
        aaaa: [`2001:db8:${(n >> 8).toString(16)}::${(n & 255).toString(16)}`],
        ttl: 300,
      });
    }
    process.stdout.write('changed\n');
  }
});
