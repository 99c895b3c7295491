import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, request } from 'undici';
import type { TlsSettings } from '../../src/config/types.js';
import { errnoText } from '../../src/errno.js';
import { ExitCode, TargetError } from '../../src/errors.js';
import { normalizeFingerprint } from '../../src/fingerprint.js';

export interface HttpOptions {
  target: string;
  baseUrl: string;
  tls: TlsSettings;
  timeoutMs: number;
  /** `key:secret` for HTTP Basic; never printed. */
  credentials: string;
}

export interface ApiError {
  status: number;
  message: string;
}

/**
 * JSON over HTTPS to one firewall: Basic auth, certificate verification (system CAs, a CA file,
 * or a pinned SHA-256 fingerprint), a timeout on connect and on every request.
 */
export class JsonClient {
  private readonly agent: Agent;
  private readonly authorization: string;

  constructor(private readonly options: HttpOptions) {
    this.authorization = `Basic ${Buffer.from(options.credentials).toString('base64')}`;
    this.agent = new Agent({
      connect: this.connector(),
      connectTimeout: options.timeoutMs,
      keepAliveTimeout: 4000,
    });
  }

  private connector(): buildConnector.connector {
    const { tls, target } = this.options;
    if (tls.fingerprint) {
      const pinned = normalizeFingerprint(tls.fingerprint);
      // A pinned certificate is usually self-signed: chain checks are replaced by the pin.
      // No session resumption: a resumed session shows no peer certificate to check the pin against.
      const base = buildConnector({
        rejectUnauthorized: false,
        timeout: this.options.timeoutMs,
        maxCachedSessions: 0,
      });
      return (opts, callback) =>
        base(opts, (err, socket) => {
          if (err || !socket) return callback(err ?? new Error('no socket'), null);
          const seen = (socket as TLSSocket).getPeerCertificate?.().fingerprint256;
          if (seen !== pinned) {
            socket.destroy();
            return callback(
              new Error(`certificate fingerprint ${seen ?? 'none'} does not match the pinned ${pinned}`),
              null,
            );
          }
          return callback(null, socket);
        });
    }
    let ca: string | undefined;
    if (tls.ca) {
      try {
        ca = readFileSync(tls.ca, 'utf8');
      } catch (err) {
        throw new TargetError(target, `cannot read tls.ca ${tls.ca}: ${errnoText(err)}`, ExitCode.usage);
      }
    }
    return buildConnector({
      rejectUnauthorized: !tls.insecure,
      timeout: this.options.timeoutMs,
      ...(ca ? { ca } : {}),
    });
  }

  /** Returns the parsed JSON body; throws TargetError with a one-line reason for anything else. */
  async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const url = `${this.options.baseUrl}${path}`;
    const where = `${method} ${path}`;
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
    } catch (err) {
      throw new TargetError(this.options.target, `${where}: ${transportError(err, this.options.timeoutMs)}`);
    }
    const text = await res.body.text().catch(() => '');
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      throw new TargetError(
        this.options.target,
        `${where}: HTTP ${res.statusCode} with invalid JSON (${printable(text)})`,
      );
    }
    return { status: res.statusCode, json };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function transportError(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer within ${timeoutMs} ms`;
    case 'UND_ERR_SOCKET':
      return `connection dropped (${e.cause?.message ?? e.message})`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `certificate not trusted (${code}); set tls.ca or tls.fingerprint`;
    default:
      return e.message ?? String(err);
  }
}

function printable(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 80)}…` : t || 'empty body';
}
