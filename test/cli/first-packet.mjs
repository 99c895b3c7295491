// An application, as far as a firewall sees one: it asks the forwarder for a name and sends its
// first packet to every address of the answer the moment the answer arrives. Run inside the test's
// network namespace, where an nft counter tells whether that packet went to an address already in
// the set. Usage: node first-packet.mjs PORT A|AAAA NAME… ; prints one JSON line per name.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { addresses, query } from '../fakes/wire.mjs';

const [port, type, ...names] = process.argv.slice(2);
const qtype = type === 'AAAA' ? 28 : 1;

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
    socket.send(query(name, i + 1, qtype), Number(port), '127.0.0.1');
  });
  const ms = performance.now() - started;
  console.log(JSON.stringify({ name, addresses: answer ? addresses(answer) : null, ms }));
}
await new Promise((r) => setTimeout(r, 100));
socket.close();
probe4.close();
probe6.close();
