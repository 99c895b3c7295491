import net from 'node:net';
import DNS from 'dns2';
import '../resolver/codec-speed.js';

const { Packet } = DNS;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

/** How a name is answered; `answer` is normal, the rest reproduce misbehaving resolvers. */
export type Behaviour =
  'answer' | 'nxdomain' | 'servfail' | 'refused' | 'drop' | 'garbage' | 'wrong-id' | 'truncate';

export interface ZoneEntry {
  a?: string[];
  aaaa?: string[];
  cname?: string;
  ttl?: number;
  behaviour?: Behaviour;
  /** Answer this many milliseconds late. */
  delayMs?: number;
}

/**
 * A small authoritative-style DNS server on 127.0.0.1 (UDP and TCP on one port) whose zone can
 * be changed while it runs. The demo uses it, and so do the tests.
 */
export class ZoneServer {
  readonly zone = new Map<string, ZoneEntry>();
  /** Queries received, as `udp|tcp NAME TYPE`. */
  readonly log: string[] = [];
  private udp: DNS.UDPServer | undefined;
  private tcp: DNS.TCPServer | undefined;
  private readonly clients = new Set<net.Socket>();
  port = 0;

  set(name: string, entry: ZoneEntry): this {
    this.zone.set(name.toLowerCase(), entry);
    return this;
  }

  async start(host = '127.0.0.1'): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const handler = (req: DNS.Packet, send: (r: DNS.Packet | Buffer) => void, client: unknown) =>
        this.handle(req, send, client);
      const udp = DNS.createUDPServer({ type: host.includes(':') ? 'udp6' : 'udp4' } as DNS.UdpServerOptions);
      udp.on('request', handler);
      const tcp = DNS.createTCPServer(handler as DNS.DnsHandler);
      udp.on('requestError', () => undefined);
      tcp.on('requestError', () => undefined);
      tcp.on('connection', (socket: net.Socket) => {
        this.clients.add(socket);
        socket.on('close', () => this.clients.delete(socket));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(0, host, () => resolve());
        });
        this.port = udp.address().port;
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(this.port, host, () => resolve());
        });
        this.udp = udp;
        this.tcp = tcp;
        return this.port;
      } catch {
        udp.close();
        tcp.close();
      }
    }
    throw new Error('cannot find a free port for the DNS server');
  }

  private handle(request: DNS.Packet, send: (r: DNS.Packet | Buffer) => void, client: unknown): void {
    this.respond(request, client instanceof net.Socket ? 'tcp' : 'udp', send);
  }

  /** Answers one request as the zone says; `send` is not called for a dropped query. */
  respond(request: DNS.Packet, via: 'udp' | 'tcp' | 'https', send: (r: DNS.Packet | Buffer) => void): void {
    const question = request.questions[0];
    if (!question) return;
    const viaTcp = via !== 'udp';
    const typeName =
      question.type === Packet.TYPE.AAAA
        ? 'AAAA'
        : question.type === Packet.TYPE.A
          ? 'A'
          : String(question.type);
    this.log.push(`${via} ${question.name} ${typeName}`);
    const entry = this.zone.get(question.name.toLowerCase());
    const reply = () => this.reply(request, question, entry, viaTcp, send);
    if (entry?.delayMs) setTimeout(reply, entry.delayMs);
    else reply();
  }

  private reply(
    request: DNS.Packet,
    question: DNS.Packet.Question,
    entry: ZoneEntry | undefined,
    viaTcp: boolean,
    send: (r: DNS.Packet | Buffer) => void,
  ): void {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 1;
    const behaviour = entry?.behaviour ?? 'answer';
    switch (behaviour) {
      case 'drop':
        return;
      case 'garbage':
        send(Buffer.from('this is not a DNS message at all'));
        return;
      case 'servfail':
        response.header.rcode = RCODE_SERVFAIL;
        send(response);
        return;
      case 'refused':
        response.header.rcode = RCODE_REFUSED;
        send(response);
        return;
      case 'truncate':
        if (!viaTcp) {
          response.header.tc = 1;
          send(response);
          return;
        }
        break;
      default:
        break;
    }
    if (!entry || behaviour === 'nxdomain') {
      response.header.rcode = RCODE_NXDOMAIN;
      response.authorities.push(soa(question.name));
      send(response);
      return;
    }
    const ttl = entry.ttl ?? 300;
    let name = question.name;
    let current: ZoneEntry | undefined = entry;
    for (let hops = 0; current?.cname && hops < 32; hops++) {
      response.answers.push({
        name,
        type: Packet.TYPE.CNAME,
        class: Packet.CLASS.IN,
        ttl,
        domain: current.cname,
      } as DNS.Packet.Resource);
      name = current.cname;
      current = this.zone.get(name.toLowerCase());
      if (current?.cname && response.answers.some((r) => r.name === current?.cname)) break;
    }
    if (current && !current.cname) {
      const list =
        question.type === Packet.TYPE.A
          ? current.a
          : question.type === Packet.TYPE.AAAA
            ? current.aaaa
            : undefined;
      for (const address of list ?? []) {
        response.answers.push({
          name,
          type: question.type,
          class: Packet.CLASS.IN,
          ttl: current.ttl ?? ttl,
          address,
        } as DNS.Packet.Resource);
      }
    }
    if (response.answers.length === 0) response.authorities.push(soa(question.name));
    if (behaviour === 'wrong-id') response.header.id = (request.header.id + 1) & 0xffff;
    send(response);
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    for (const socket of this.clients) socket.destroy();
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}

function soa(name: string): DNS.Packet.Resource {
  const zone = name.split('.').slice(-2).join('.');
  return {
    name: zone,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl: 60,
    primary: `ns.${zone}`,
    admin: `hostmaster.${zone}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum: 60,
  } as DNS.Packet.Resource;
}
