// Applications asking for fresh names, as a firewall sees them: `width` queries at a time to a DNS
// server on 127.0.0.1, and the moment an answer arrives a first packet to each of its addresses
// (UDP port 9), which the namespace's nft counters check against the set. Prints one JSON object:
// each query's latency in milliseconds, and how many got no answer.
// Usage: node fresh.mjs PORT A|AAAA WIDTH NAMES_FILE
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { addresses, query } from '../fakes/wire.mjs';
import { readFileSync } from 'node:fs';

const [port, type, width, file] = process.argv.slice(2);
const names = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const qtype = type === 'AAAA' ? 28 : 1;

const probe4 = dgram.createSocket('udp4');
const probe6 = dgram.createSocket('udp6');
const socket = dgram.createSocket('udp4');
const first = Buffer.from('first packet');
const waiting = new Map();
const latencies = [];
let lost = 0;

socket.on('message', (m) => {
  const id = m.readUInt16BE(0);
  const w = waiting.get(id);
  if (!w) return;
  // At once: the application's first packet, before anything else.
  for (const a of addresses(m)) (a.includes(':') ? probe6 : probe4).send(first, 9, a);
  waiting.delete(id);
  clearTimeout(w.timer);
  latencies.push(performance.now() - w.sent);
  w.done();
});

let next = 0;
async function worker() {
  while (next < names.length) {
    const i = next++;
    const id = i & 0xffff;
    await new Promise((done) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        lost += 1;
        done();
      }, 5000);
      waiting.set(id, { sent: performance.now(), timer, done });
      socket.send(query(names[i], id, qtype), Number(port), '127.0.0.1');
    });
  }
}

await Promise.all(Array.from({ length: Number(width) }, worker));
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ latencies, lost }));
socket.close();
probe4.close();
probe6.close();
