import DNS from 'dns2';

/**
 * dns2 3.0's packet codec reads and writes one bit at a time through temporary arrays and string
 * joins (lib/reader.js, lib/writer.js): encoding and decoding 20,000 small messages costs about
 * 2.2 s of CPU here, more than the network. The methods below keep the exact semantics (the writer
 * still holds an array of bits, which dns2's EDNS encoder reads) with plain arithmetic, so the
 * resolver and the test servers built on dns2 spend their time on DNS, not on bit juggling.
 */
interface Reader {
  buffer: Buffer;
  offset: number;
}
interface Writer {
  buffer: number[];
}

const ReaderProto = DNS.Packet.Reader.prototype as unknown as {
  read(this: Reader, size: number): number;
  __fast?: boolean;
};
const WriterProto = DNS.Packet.Writer.prototype as unknown as {
  write(this: Writer, d: number, size: number): void;
  toBuffer(this: Writer): Buffer;
};

export function readBits(this: Reader, size: number): number {
  const { buffer, offset } = this;
  let value = 0;
  if ((offset & 7) === 0 && (size & 7) === 0) {
    const start = offset >> 3;
    if (start + (size >> 3) > buffer.length)
      throw new RangeError(
        `The value of "offset" is out of range. It must be >= 0 and <= ${buffer.length - 1}`,
      );
    for (let i = 0; i < size >> 3; i++) value = value * 256 + (buffer[start + i] as number);
  } else {
    for (let i = 0; i < size; i++) {
      const bit = offset + i;
      const byte = buffer[bit >> 3];
      if (byte === undefined)
        throw new RangeError(
          `The value of "offset" is out of range. It must be >= 0 and <= ${buffer.length - 1}`,
        );
      value = value * 2 + ((byte >> (7 - (bit & 7))) & 1);
    }
  }
  this.offset = offset + size;
  return value;
}

export function writeBits(this: Writer, d: number, size: number): void {
  for (let i = size - 1; i >= 0; i--) this.buffer.push(d & (2 ** i) ? 1 : 0);
}

/** Eight bits a byte; a short last chunk counts as its own (right-aligned) value, as dns2 does. */
export function bitsToBuffer(this: Writer): Buffer {
  const bits = this.buffer;
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let byte = 0; byte < out.length; byte++) {
    let value = 0;
    for (let i = byte * 8; i < Math.min(bits.length, byte * 8 + 8); i++)
      value = value * 2 + (bits[i] ? 1 : 0);
    out[byte] = value;
  }
  return out;
}

/** dns2's own methods, kept for the equivalence test. */
export const original = { read: ReaderProto.read, write: WriterProto.write, toBuffer: WriterProto.toBuffer };

if (!ReaderProto.__fast) {
  ReaderProto.read = readBits;
  WriterProto.write = writeBits;
  WriterProto.toBuffer = bitsToBuffer;
  ReaderProto.__fast = true;
}
