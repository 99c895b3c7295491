import type { TLSSocket } from 'node:tls';
import type { Agent, buildConnector } from 'undici';
import { decodeResponse, encodeQuery, newQuery, type Query } from './message.js';
import type { ResolverSpec, ResolverTrust } from '../config/resolver-spec.js';
import { timedOut, type Exchange, type Transport } from './transport.js';
import { certificateProblem, pinMismatch, tlsOptions } from './trust.js';

type Client = { agent: Agent; request: typeof import('undici').request };

/**
 * DNS over HTTPS (RFC 8484, POST), on one undici agent per way of checking certificates (there is
 * one, resolver_tls, in a configuration), so connections are reused.
 */
export class DohTransport implements Transport {
  // undici is loaded on the first DoH query: most configurations never make one.
  private readonly agents = new Map<ResolverTrust | undefined, Promise<Client>>();

  private client(server: ResolverSpec): Promise<Client> {
    let client = this.agents.get(server.trust);
    if (!client) {
      const { servername: _ignored, ...options } = tlsOptions({ ...server, servername: undefined });
      client = import('undici').then(({ Agent, buildConnector, request }) => {
        const base = buildConnector(options as buildConnector.BuildOptions);
        // A pinned certificate replaces the chain check: nothing is sent before the pin matches.
        const connect: buildConnector.connector = (opts, callback) =>
          base(opts, (err, socket) => {
            if (err || !socket) return callback(err ?? new Error('no socket'), null);
            const mismatch = pinMismatch(server, (socket as TLSSocket).getPeerCertificate?.());
            if (mismatch) {
              socket.destroy();
              return callback(Object.assign(new Error(mismatch), { code: 'DNSFENCE_PIN_MISMATCH' }), null);
            }
            return callback(null, socket);
          });
        return { agent: new Agent({ keepAliveTimeout: 5000, connections: 8, connect }), request };
      });
      this.agents.set(server.trust, client);
    }
    return client;
  }

  send(server: ResolverSpec, query: Query, timeoutMs: number, done: (result: Exchange) => void): void {
    this.exchange(server, query, timeoutMs).then(done, (err: Error) =>
      done({ kind: 'failed', outcome: 'timeout', detail: `${server.label}: ${err.message}` }),
    );
  }

  private async exchange(server: ResolverSpec, query: Query, timeoutMs: number): Promise<Exchange> {
    const url = server.url as string;
    const { agent, request } = await this.client(server);
    // RFC 8484 section 4.1: use ID 0 over HTTP for cache friendliness; the question is still checked.
    const q = newQuery(query.name, query.type, query.dnssec, 0, query.message);
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
      if (decoded.kind === 'packet' || decoded.kind === 'message') return decoded;
      return { kind: 'failed', outcome: 'malformed', detail: `${decoded.detail} from ${server.label}` };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      // undici wraps connection errors: the certificate's own error is the cause.
      const cause = e.cause ?? e;
      if (cause.code === 'DNSFENCE_PIN_MISMATCH')
        return { kind: 'failed', outcome: 'refused', detail: cause.message };
      const certificate = certificateProblem(server, cause);
      if (certificate) return { kind: 'failed', outcome: 'refused', detail: certificate };
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
    for (const client of this.agents.values()) await (await client).agent.close();
    this.agents.clear();
  }
}
