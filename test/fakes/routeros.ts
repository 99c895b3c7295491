import net from 'node:net';
import tls from 'node:tls';
import ipaddr from 'ipaddr.js';
import { registerSecret } from '../helpers.js';

/**
 * A fake RouterOS speaking the API wire protocol (length-prefixed words, sentences ended by an
 * empty word, `.tag` echoed on every reply), with the behaviour dnsfence depends on
 * (from MikroTik's API manual and the librouteros and node-routeros sources): login, filtered `print` with `!empty` on
 * RouterOS >= 7.18, duplicate `add` traps, address normalisation, dynamic entries.
 */
export interface RosEntry {
  id: string;
  list: string;
  address: string;
  comment?: string;
  dynamic: boolean;
  timeout?: string;
}

export function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  if (len < 0x4000) return Buffer.from([(len >> 8) | 0x80, len & 0xff]);
  if (len < 0x200000) return Buffer.from([(len >> 16) | 0xc0, (len >> 8) & 0xff, len & 0xff]);
  if (len < 0x10000000)
    return Buffer.from([(len >>> 24) | 0xe0, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
  return Buffer.from([0xf0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
}

export function encodeSentence(words: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const w of words) {
    const b = Buffer.from(w, 'latin1');
    parts.push(encodeLength(b.length), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Splits a byte stream into sentences; returns the rest that is not complete yet. */
export function decodeSentences(buf: Buffer): { sentences: string[][]; rest: Buffer } {
  const sentences: string[][] = [];
  let words: string[] = [];
  let i = 0;
  let start = 0;
  for (;;) {
    if (i >= buf.length) break;
    const b = buf[i] as number;
    let len: number;
    let size: number;
    if ((b & 0x80) === 0) [len, size] = [b, 1];
    else if ((b & 0xc0) === 0x80) [len, size] = [((b & 0x3f) << 8) | (buf[i + 1] ?? 0), 2];
    else if ((b & 0xe0) === 0xc0)
      [len, size] = [((b & 0x1f) << 16) | ((buf[i + 1] ?? 0) << 8) | (buf[i + 2] ?? 0), 3];
    else if ((b & 0xf0) === 0xe0)
      [len, size] = [
        ((b & 0x0f) << 24) | ((buf[i + 1] ?? 0) << 16) | ((buf[i + 2] ?? 0) << 8) | (buf[i + 3] ?? 0),
        4,
      ];
    else [len, size] = [buf.readUInt32BE(i + 1), 5];
    if (i + size + len > buf.length) break;
    if (len === 0) {
      sentences.push(words);
      words = [];
      i += size;
      start = i;
      continue;
    }
    words.push(buf.subarray(i + size, i + size + len).toString('latin1'));
    i += size + len;
  }
  return { sentences, rest: buf.subarray(start) };
}

type Mode = 'normal' | 'stall' | 'fatal' | 'drop-mid-reply';

export class FakeRouterOS {
  user = 'dnsfence';
  // Registered with the leak scan (test/helpers.ts): no output of dnsfence may contain it.
  password = registerSecret('router-secret-do-not-leak');
  version = '7.19.1 (stable)';
  group = 'dnsfence';
  policy = 'api,read,write';
  /** RouterOS >= 7.18 answers a print that matches nothing with !empty before !done. */
  emitEmpty = true;
  readonly entries: RosEntry[] = [];
  /** Commands received, without the login. */
  readonly commands: string[][] = [];
  /** Writing commands received (add, remove, set). */
  get writes(): number {
    return this.commands.filter((c) => /\/(add|remove|set)$/.test(c[0] as string)).length;
  }
  /** How the next matching command is answered. */
  private modes: { match: RegExp; mode: Mode; after?: number }[] = [];
  /** Answer each command this late (ms), to make round trips visible. */
  delayMs = 0;
  /** Most commands received but not yet answered at one time: above 1 means pipelining. */
  maxInFlight = 0;
  private inFlight = 0;
  private nextId = 1;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  failNext(match: RegExp, mode: Mode, after?: number): void {
    this.modes.push({ match, mode, ...(after !== undefined ? { after } : {}) });
  }

  add(list: string, address: string, extra: Partial<RosEntry> = {}): RosEntry {
    const entry: RosEntry = {
      id: `*${(this.nextId++).toString(16).toUpperCase()}`,
      list,
      address: normalize(address),
      dynamic: false,
      ...extra,
    };
    this.entries.push(entry);
    return entry;
  }

  /** Entries of one list in one family's table, as `address comment` strings. */
  list(family: 'ip' | 'ipv6', list: string): RosEntry[] {
    return this.entries.filter((e) => e.list === list && (family === 'ipv6') === e.address.includes(':'));
  }

  /** A reboot: dynamic (timeout) entries live in RAM and are gone. */
  reboot(): void {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (this.entries[i]!.dynamic) this.entries.splice(i, 1);
  }

  async start(options: { tls?: { cert: string; key: string } } = {}): Promise<number> {
    const onSocket = (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      this.serve(socket);
    };
    this.server = options.tls ? tls.createServer(options.tls, onSocket) : net.createServer(onSocket);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private serve(socket: net.Socket): void {
    let buffered = Buffer.alloc(0);
    let loggedIn = false;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const { sentences, rest } = decodeSentences(buffered);
      buffered = Buffer.from(rest);
      for (const words of sentences) {
        if (words.length === 0) continue;
        const tag = words.find((w) => w.startsWith('.tag='))?.slice(5);
        const reply = (sentence: string[]) => {
          if (!socket.destroyed)
            socket.write(encodeSentence(tag !== undefined ? [...sentence, `.tag=${tag}`] : sentence));
        };
        const command = words[0] as string;
        if (command === '/login') {
          const attrs = attributes(words);
          if (attrs.name === this.user && attrs.password === this.password) {
            loggedIn = true;
            reply(['!done']);
          } else {
            reply(['!trap', '=message=invalid user name or password (6)']);
            reply(['!done']);
          }
          continue;
        }
        if (!loggedIn) {
          reply(['!fatal', 'not logged in']);
          socket.end();
          return;
        }
        if (command === '/cancel' || command === '/quit') {
          reply(['!done']);
          continue;
        }
        this.commands.push(words.filter((w) => !w.startsWith('.tag=')));
        let mode = this.modes.find((m) => m.match.test(command));
        if (mode && mode.mode !== 'drop-mid-reply' && (mode.after ?? 0) > 0) {
          // Let `after` matching commands through first.
          mode.after = (mode.after as number) - 1;
          mode = undefined;
        }
        if (mode) this.modes = this.modes.filter((m) => m !== mode);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const respond = () => {
          this.inFlight -= 1;
          this.execute(command, words, reply, socket, mode);
        };
        if (this.delayMs > 0) setTimeout(respond, this.delayMs);
        else respond();
      }
    });
  }

  private execute(
    command: string,
    words: string[],
    reply: (sentence: string[]) => void,
    socket: net.Socket,
    mode: { mode: Mode; after?: number } | undefined,
  ): void {
    // A session ended by !fatal runs nothing more, even commands it had already received.
    if (socket.destroyed || socket.writableEnded) return;
    if (mode?.mode === 'stall') return;
    if (mode?.mode === 'fatal') {
      socket.write(encodeSentence(['!fatal', 'session terminated on request']));
      socket.end();
      return;
    }
    const attrs = attributes(words);
    const query = Object.fromEntries(
      words
        .filter((w) => w.startsWith('?'))
        .map((w) => w.slice(1).replace(/^=/, '').split('=', 2) as [string, string]),
    );
    const table = command.startsWith('/ipv6/') ? 'ipv6' : 'ip';
    const trap = (message: string) => {
      reply(['!trap', `=message=${message}`]);
      reply(['!done']);
    };
    if (command === '/system/resource/print') {
      reply(['!re', `=version=${this.version}`, '=board-name=CHR', '=uptime=1w2d']);
      reply(['!done']);
      return;
    }
    if (command === '/user/print') {
      if (query.name === this.user) reply(['!re', `=name=${this.user}`, `=group=${this.group}`]);
      reply(['!done']);
      return;
    }
    if (command === '/user/group/print') {
      if (query.name === this.group) reply(['!re', `=name=${this.group}`, `=policy=${this.policy}`]);
      reply(['!done']);
      return;
    }
    const match = /^\/(ip|ipv6)\/firewall\/address-list\/(print|add|remove|set)$/.exec(command);
    if (!match) {
      trap('no such command prefix');
      return;
    }
    const action = match[2];
    if (action === 'print') {
      const rows = this.entries.filter(
        (e) =>
          (table === 'ipv6') === e.address.includes(':') &&
          (query.list === undefined || e.list === query.list) &&
          (query.dynamic === undefined || String(e.dynamic) === query.dynamic),
      );
      const props = attrs['.proplist']?.split(',');
      rows.forEach((e, i) => {
        if (mode?.mode === 'drop-mid-reply' && i === (mode.after ?? 1)) {
          socket.destroy();
          return;
        }
        if (socket.destroyed) return;
        const all: Record<string, string> = {
          '.id': e.id,
          list: e.list,
          address: e.address,
          dynamic: String(e.dynamic),
          disabled: 'false',
          ...(e.comment !== undefined ? { comment: e.comment } : {}),
          ...(e.timeout ? { timeout: e.timeout } : {}),
        };
        reply([
          '!re',
          ...Object.entries(all)
            .filter(([k]) => !props || props.includes(k))
            .map(([k, v]) => `=${k}=${v}`),
        ]);
      });
      if (socket.destroyed) return;
      if (rows.length === 0 && this.emitEmpty) reply(['!empty']);
      reply(['!done']);
      return;
    }
    if (action === 'add') {
      const address = normalize(attrs.address ?? '');
      if (!attrs.list || !attrs.address) return trap('missing list or address');
      if (this.entries.some((e) => e.list === attrs.list && e.address === address))
        return trap('failure: already have such entry');
      const entry = this.add(attrs.list, address, {
        ...(attrs.comment !== undefined ? { comment: attrs.comment } : {}),
        ...(attrs.timeout ? { timeout: attrs.timeout, dynamic: true } : {}),
      });
      reply(['!done', `=ret=${entry.id}`]);
      return;
    }
    const index = this.entries.findIndex((e) => e.id === attrs['.id']);
    if (index < 0) return trap('no such item');
    if (action === 'remove') this.entries.splice(index, 1);
    else if (attrs.comment !== undefined) this.entries[index]!.comment = attrs.comment;
    reply(['!done']);
  }
}

function attributes(words: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    if (!w.startsWith('=')) continue;
    const eq = w.indexOf('=', 1);
    out[w.slice(1, eq)] = w.slice(eq + 1);
  }
  return out;
}

/** How RouterOS stores addresses: IPv4 hosts without /32, IPv6 lower-case with an explicit /128. */
export function normalize(address: string): string {
  const [addr, len] = address.split('/');
  const parsed = ipaddr.parse(addr as string);
  if (parsed.kind() === 'ipv4')
    return len === undefined || len === '32' ? parsed.toString() : `${parsed.toString()}/${len}`;
  return `${parsed.toString()}/${len ?? '128'}`;
}
