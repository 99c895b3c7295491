import net from 'node:net';
import DNS from 'dns2';
import '../resolver/codec-speed.js';

const { Packet } = DNS;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

export interface ZoneEntry {
  a?: string[];
  aaaa?: string[];
  cname?: string;
  ttl?: number;
  /** The resolver fails for this name (SERVFAIL), as the demo's third round shows. */
  servfail?: boolean;
}

export type Send = (response: DNS.Packet | Buffer) => void;
export type Via = 'udp' | 'tcp' | 'https';

/**
 * A small authoritative-style DNS server on 127.0.0.1 (UDP and TCP on one port) whose zone can
 * be changed while it runs: the demo's stand-in for the vendor's names.
 */
export class ZoneServer {
  readonly zone = new Map<string, ZoneEntry>();
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
      const handler = (req: DNS.Packet, send: Send, client: unknown) =>
        this.respond(req, client instanceof net.Socket ? 'tcp' : 'udp', send);
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

  /** Answers one request as the zone says. */
  respond(request: DNS.Packet, _via: Via, send: Send): void {
    const question = request.questions[0];
    if (!question) return;
    const entry = this.zone.get(question.name.toLowerCase());
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 1;
    if (entry?.servfail) {
      response.header.rcode = RCODE_SERVFAIL;
      send(response);
      return;
    }
    if (!entry) {
      send(nxdomain(request));
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

/** NXDOMAIN for the request's question, with the zone's SOA. */
export function nxdomain(request: DNS.Packet): DNS.Packet {
  const response = Packet.createResponseFromRequest(request);
  response.header.aa = 1;
  response.header.ra = 1;
  response.header.rcode = RCODE_NXDOMAIN;
  const question = request.questions[0];
  if (question) response.authorities.push(soa(question.name));
  return response;
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
