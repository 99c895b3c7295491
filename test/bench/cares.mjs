// The whole-process yardstick of the benchmark: Node's c-ares (dns.promises.Resolver) resolving the
// same names as a sync, A and AAAA, with the same concurrency. Run as its own process, so that it
// pays Node's start as the CLI does.
// Usage: node cares.mjs SERVER:PORT NAMES_FILE CONCURRENCY
import dns from 'node:dns';
import { readFileSync } from 'node:fs';

const [server, file, width] = process.argv.slice(2);
const names = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
resolver.setServers([server]);
let next = 0;
let failed = 0;
const one = (promise) => promise.catch(() => (failed += 1));
// Each worker keeps an A and an AAAA query in flight: CONCURRENCY queries in all.
await Promise.all(
  Array.from({ length: Math.max(1, Number(width) / 2) }, async () => {
    while (next < names.length) {
      const name = names[next++];
      await Promise.all([one(resolver.resolve4(name)), one(resolver.resolve6(name))]);
    }
  }),
);
if (failed > 0) {
  process.stderr.write(`${failed} lookups failed\n`);
  process.exit(1);
}
