import type { Agent } from 'undici';
import { decodeResponse, encodeQuery, type Query } from './message.js';
import type { ResolverSpec } from './servers.js';
import { timedOut, type Exchange, type Transport } from './transport.js';

/** DNS over HTTPS (RFC 8484, POST), on one undici agent so connections are reused. */
export class DohTransport implements Transport {
  // undici is loaded on the first DoH query: most configurations never make one.
  private agent: Promise<{ agent: Agent; request: typeof import('undici').request }> | undefined;

  private client() {
    this.agent ??= import('undici').then(({ Agent, request }) => ({
      agent: new Agent({ keepAliveTimeout: 5000, connections: 8 }),
      request,
    }));
    return this.agent;
  }

  send(server: ResolverSpec, query: Query, timeoutMs: number, done: (result: Exchange) => void): void {
    this.exchange(server, query, timeoutMs).then(done, (err: Error) =>
      done({ kind: 'failed', outcome: 'timeout', detail: `${server.label}: ${err.message}` }),
    );
  }

  private async exchange(server: ResolverSpec, query: Query, timeoutMs: number): Promise<Exchange> {
    const url = server.url as string;
    const { agent, request } = await this.client();
    // RFC 8484 section 4.1: use ID 0 over HTTP for cache friendliness; the question is still checked.
    const q = { ...query, id: 0 };
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' },
        body: encodeQuery(q),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) {
        return { kind: 'failed', outcome: 'servfail', detail: `HTTP ${res.statusCode} from ${server.label}` };
      }
      const decoded = decodeResponse(body, q);
      if (decoded.kind === 'packet') return { kind: 'packet', packet: decoded.packet };
      return { kind: 'failed', outcome: 'malformed', detail: `${decoded.detail} from ${server.label}` };
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      if (
        e.name === 'TimeoutError' ||
        e.code === 'UND_ERR_HEADERS_TIMEOUT' ||
        e.code === 'UND_ERR_BODY_TIMEOUT'
      ) {
        return timedOut(server, timeoutMs);
      }
      if (e.code === 'ECONNREFUSED')
        return { kind: 'failed', outcome: 'refused', detail: `connection refused by ${server.label}` };
      return {
        kind: 'failed',
        outcome: 'timeout',
        detail: `${server.label}: ${e.code ?? e.message ?? String(err)}`,
      };
    }
  }

  async close(): Promise<void> {
    if (this.agent) await (await this.agent).agent.close();
  }
}
