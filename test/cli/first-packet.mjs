// An application, as far as a firewall sees one: it asks the forwarder for a name and sends its
// first packet to every address of the answer the moment the answer arrives. Run inside the test's
// network namespace, where an nft counter tells whether that packet went to an address already in
// the set. Usage: node first-packet.mjs PORT A|AAAA NAME… ; prints one JSON line per name.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';

const [port, type, ...names] = process.argv.slice(2);
const qtype = type === 'AAAA' ? 28 : 1;

function query(name, id) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
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
const firstPacket = Buffer.from('first packet');

for (const [i, name] of names.entries()) {
  const started = performance.now();
  const answer = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5000);
    socket.once('message', (m) => {
      // At once, in the same turn of the event loop: the application's first packet.
      for (const a of addresses(m)) (a.includes(':') ? probe6 : probe4).send(firstPacket, 9, a);
      clearTimeout(timer);
      resolve(m);
    });
    socket.send(query(name, i + 1), Number(port), '127.0.0.1');
  });
  const ms = performance.now() - started;
  console.log(JSON.stringify({ name, addresses: answer ? addresses(answer) : null, ms }));
}
await new Promise((r) => setTimeout(r, 100));
socket.close();
probe4.close();
probe6.close();
