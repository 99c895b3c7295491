import DNS from 'dns2';
import { nxdomain, ZoneServer, type Send, type Via, type ZoneEntry } from '../../src/demo/dns-server.js';

const { Packet } = DNS;
const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;

/** How a name is answered; `answer` is normal, the rest reproduce misbehaving resolvers. */
export type Behaviour =
  'answer' | 'nxdomain' | 'servfail' | 'refused' | 'drop' | 'garbage' | 'wrong-id' | 'truncate';

export interface TestZoneEntry extends ZoneEntry {
  behaviour?: Behaviour;
  /** Answer this many milliseconds late. */
  delayMs?: number;
}

/**
 * The demo's DNS server with the faults the tests need: resolvers that fail, drop, lie about the
 * ID, send garbage or truncate, and answers that come late. It logs every query.
 */
export class TestZoneServer extends ZoneServer {
  declare readonly zone: Map<string, TestZoneEntry>;
  /** Queries received, as `udp|tcp|https NAME TYPE`. */
  readonly log: string[] = [];

  override set(name: string, entry: TestZoneEntry): this {
    return super.set(name, entry);
  }

  override respond(request: DNS.Packet, via: Via, send: Send): void {
    const question = request.questions[0];
    if (!question) return;
    const type =
      question.type === Packet.TYPE.AAAA
        ? 'AAAA'
        : question.type === Packet.TYPE.A
          ? 'A'
          : String(question.type);
    this.log.push(`${via} ${question.name} ${type}`);
    const entry = this.zone.get(question.name.toLowerCase());
    const reply = () => this.misbehave(request, entry, via, send);
    if (entry?.delayMs) setTimeout(reply, entry.delayMs);
    else reply();
  }

  private misbehave(request: DNS.Packet, entry: TestZoneEntry | undefined, via: Via, send: Send): void {
    const plain = () => super.respond(request, via, send);
    switch (entry?.behaviour ?? 'answer') {
      case 'drop':
        return;
      case 'garbage':
        return send(Buffer.from('this is not a DNS message at all'));
      case 'servfail':
      case 'refused': {
        const response = Packet.createResponseFromRequest(request);
        response.header.ra = 1;
        response.header.rcode = entry?.behaviour === 'servfail' ? RCODE_SERVFAIL : RCODE_REFUSED;
        return send(response);
      }
      case 'nxdomain':
        return send(nxdomain(request));
      case 'truncate':
        if (via === 'udp') {
          const response = Packet.createResponseFromRequest(request);
          response.header.tc = 1;
          return send(response);
        }
        return plain();
      case 'wrong-id':
        return super.respond(request, via, (response) => {
          if (!Buffer.isBuffer(response)) response.header.id = (request.header.id + 1) & 0xffff;
          send(response);
        });
      default:
        return plain();
    }
  }
}
