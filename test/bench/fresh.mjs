// Applications asking for fresh names, as a firewall sees them: `width` queries at a time to a DNS
// server on 127.0.0.1, and the moment an answer arrives a first packet to each of its addresses
// (UDP port 9), which the namespace's nft counters check against the set. Prints one JSON object:
// each query's latency in milliseconds, and how many got no answer.
// Usage: node fresh.mjs PORT A|AAAA WIDTH NAMES_FILE
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { readFileSync } from 'node:fs';

const [port, type, width, file] = process.argv.slice(2);
const names = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const qtype = type === 'AAAA' ? 28 : 1;

function query(name, id) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([header, ...labels, tail]);
}

function skipName(buf, at) {
  for (;;) {
    const len = buf[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2;
    at += 1 + len;
  }
}

function addresses(buf) {
  let at = skipName(buf, 12) + 4;
  const out = [];
  for (let i = 0; i < buf.readUInt16BE(6); i++) {
    at = skipName(buf, at);
    const rtype = buf.readUInt16BE(at);
    const length = buf.readUInt16BE(at + 8);
    const data = buf.subarray(at + 10, at + 10 + length);
    if (rtype === 1 && length === 4) out.push([...data].join('.'));
    if (rtype === 28 && length === 16) {
      const groups = [];
      for (let g = 0; g < 8; g++) groups.push(data.readUInt16BE(2 * g).toString(16));
      out.push(groups.join(':'));
    }
    at += 10 + length;
  }
  return out;
}

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
      socket.send(query(names[i], id), Number(port), '127.0.0.1');
    });
  }
}

await Promise.all(Array.from({ length: Number(width) }, worker));
await new Promise((r) => setTimeout(r, 200));
console.log(JSON.stringify({ latencies, lost }));
socket.close();
probe4.close();
probe6.close();
