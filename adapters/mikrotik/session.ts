import type { ConnectionOptions, TlsOptions } from 'node:tls';
import routeros from 'node-routeros';
import { TargetError } from '../../src/errors.js';

/**
 * node-routeros 1.6.9 (the last release; the package is discontinued) has defects that would
 * crash or hang a sync. Two are mended here, on its prototypes, once:
 *
 * - RouterOS >= 7.18 answers a `print` that matches nothing with `!empty`, then `!done`. The
 *   channel treats `!empty` as an unknown reply and throws UNKNOWNREPLY from a socket event
 *   handler: an uncaught exception, and the command's promise never settles. `!empty` is now
 *   skipped, so the `!done` that follows completes the command with no rows; any other reply it
 *   does not know becomes a trap (a rejected command) instead of a crash.
 * - Socket errors reach callers as a RosException keyed by `err.errno`, which Node now sets to a
 *   negative number, so the message is empty and the cause (ECONNRESET, a certificate error) is
 *   lost. The connector is handed the error's `code` instead.
 * - A reply for a tag nobody waits for any more (a command that timed out, or a `!done` after a
 *   trap-closed channel) makes the receiver throw UNREGISTEREDTAG, again uncaught. It is dropped.
 *
 * The rest is handled by `RouterOsSession` below: Nagle's delay (44 ms per sequential command
 * until `setNoDelay`), the idle-timeout `'error'` that kills the process without a listener, and
 * commands left pending forever when the router sends `!fatal`, drops the connection mid-reply
 * or stops answering.
 */
type Packet = string[];
const ChannelProto = routeros.Channel.prototype as unknown as {
  processPacket(this: ChannelLike, packet: Packet): void;
  __dnsfencePatched?: boolean;
};
interface ChannelLike {
  trapped: boolean;
  emit(event: string, data: unknown): boolean;
  close(force?: boolean): void;
}
const ReceiverProto = routeros.Receiver.prototype as unknown as {
  sendTagData(this: ReceiverLike, tag: string): void;
};
interface ReceiverLike {
  tags: Map<string, unknown>;
  cleanUp(): void;
}

const KNOWN_REPLIES = new Set(['!re', '!done', '!trap']);

function patchNodeRouteros(): void {
  if (ChannelProto.__dnsfencePatched) return;
  const processPacket = ChannelProto.processPacket;
  ChannelProto.processPacket = function (packet: Packet) {
    const reply = packet[0];
    if (reply === '!empty') return;
    if (reply !== undefined && !KNOWN_REPLIES.has(reply)) {
      this.trapped = true;
      this.emit('trap', { message: `unexpected reply ${reply} from the router` });
      this.close();
      return;
    }
    processPacket.call(this, packet);
  };
  const sendTagData = ReceiverProto.sendTagData;
  ReceiverProto.sendTagData = function (tag: string) {
    if (!this.tags.has(tag)) {
      this.cleanUp();
      return;
    }
    sendTagData.call(this, tag);
  };
  const ConnectorProto = routeros.Connector.prototype as unknown as {
    onError(err: NodeJS.ErrnoException): void;
  };
  const onError = ConnectorProto.onError;
  ConnectorProto.onError = function (err: NodeJS.ErrnoException) {
    const keyed = Object.assign(err, { errno: err.code ?? err.errno });
    onError.call(this, keyed as NodeJS.ErrnoException);
  };
  ChannelProto.__dnsfencePatched = true;
}
patchNodeRouteros();

export interface SessionOptions {
  target: string;
  host: string;
  port: number;
  /** false: plain API (8728). */
  tls: ConnectionOptions | false;
  user: string;
  password: string;
  timeoutMs: number;
}

export type Row = Record<string, string>;

/** A command the router refused (`!trap`); the session stays usable. */
export class TrapError extends Error {}

/** One logged-in API connection, with a timeout on every command and no way to hang or crash. */
export class RouterOsSession {
  private lostReason: string | undefined;
  private readonly waiters = new Set<(reason: string) => void>();

  private constructor(
    private readonly api: routeros.RouterOSAPI,
    private readonly options: SessionOptions,
  ) {}

  static async open(options: SessionOptions): Promise<RouterOsSession> {
    const api = new routeros.RouterOSAPI({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      timeout: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
      ...(options.tls ? { tls: options.tls as TlsOptions } : {}),
    });
    const session = new RouterOsSession(api, options);
    // Without these listeners an idle timeout or a reset after login is an uncaught 'error'.
    api.on('error', (err: unknown) => session.lost(describe(err)));
    api.on('close', () => session.lost('the router closed the connection'));
    const where = `${options.host}:${options.port}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        api.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from ${where} within ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      session.destroy();
      const message = describe(err);
      if (/invalid user name or password|password is invalid|cannot log in/i.test(message)) {
        throw new TargetError(options.target, `login as ${options.user} on ${where} failed: ${message}`);
      }
      throw new TargetError(options.target, `cannot connect to ${where}: ${message}`);
    } finally {
      clearTimeout(timer);
    }
    const connector = (api as unknown as { connector?: { socket?: { setNoDelay(v: boolean): void } } })
      .connector;
    connector?.socket?.setNoDelay(true);
    return session;
  }

  private lost(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    for (const w of this.waiters) w(reason);
    this.waiters.clear();
  }

  get alive(): boolean {
    return this.lostReason === undefined;
  }

  /**
   * Runs one command. Resolves with its `!re` rows (and the `!done` attributes, such as `ret`);
   * rejects with TrapError when the router refuses it, or TargetError when the connection is gone.
   * Commands issued without awaiting each other are pipelined: node-routeros tags each one.
   */
  async command(words: string[]): Promise<Row[]> {
    const { target } = this.options;
    const prefix = words[0] as string;
    if (this.lostReason) throw new TargetError(target, `${prefix}: ${this.lostReason}`);
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((reason: string) => void) | undefined;
    try {
      return (await Promise.race([
        this.api.write(words),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TargetError(target, `${prefix}: no answer within ${this.options.timeoutMs} ms`)),
            this.options.timeoutMs,
          );
          waiter = (reason) => reject(new TargetError(target, `${prefix}: ${reason}`));
          this.waiters.add(waiter);
        }),
      ])) as Row[];
    } catch (err) {
      if (err instanceof TargetError) throw err;
      if (this.lostReason) throw new TargetError(target, `${prefix}: ${this.lostReason}`);
      throw new TrapError(describe(err));
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }

  destroy(): void {
    this.lost('closed');
    // While a command is pending, node-routeros re-arms a timer that writes '#' every timeout/2
    // seconds; once the connection is gone that timer would keep the process alive forever.
    const api = this.api as unknown as {
      connectionHoldInterval?: NodeJS.Timeout;
      keptaliveby?: NodeJS.Timeout;
      holdingConnectionWithKeepalive?: boolean;
    };
    api.holdingConnectionWithKeepalive = true;
    clearTimeout(api.connectionHoldInterval);
    clearTimeout(api.keptaliveby);
    const connector = (this.api as unknown as { connector?: { destroy(): void } }).connector;
    try {
      connector?.destroy();
    } catch {
      // already gone
    }
  }

  async close(): Promise<void> {
    if (this.alive) {
      await Promise.race([this.api.close().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
    this.destroy();
  }
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  const e = err as { message?: string; errno?: string | number; code?: string };
  const code = typeof e?.errno === 'string' ? e.errno : e?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the router closed the connection';
  if (code === 'SOCKTMOUT') return 'connection timed out';
  if (code && /CERT|SELF_SIGNED|UNABLE_TO/.test(code))
    return `certificate not trusted (${code}); set tls.ca or tls.fingerprint`;
  return e?.message || code || String(err);
}
