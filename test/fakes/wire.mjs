// The two parts of a DNS message the probe scripts (test/cli/first-packet.mjs, test/bench/fresh.mjs)
// need, written out by hand: they run as small processes in a network namespace, where the first
// packet must leave in the same turn of the event loop as the answer arrives.

/** An A (1) or AAAA (28) query for `name` with ID `id`, recursion desired. */
export function query(name, id, qtype) {
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

/** The A and AAAA addresses of an answer's answer section. */
export function addresses(buf) {
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
