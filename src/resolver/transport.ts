import type { Message } from './decode.js';
import type { Outcome } from './types.js';
import type { Query } from './message.js';
import type { ResolverSpec } from '../config/resolver-spec.js';

export type Exchange =
  | { kind: 'packet'; packet: Message }
  /** The answer to a forwarded message, as the server sent it (truncated or not: the client decides). */
  | { kind: 'message'; message: Buffer }
  | { kind: 'truncated' }
  | { kind: 'failed'; outcome: Outcome; detail: string };

/**
 * Sends one query (or a forwarded message) to one server and hands the matching answer (or the failure) to `done`, once,
 * within `timeoutMs`. A callback rather than a promise: the resolver's hot path makes 20,000 of
 * these per sync, and each promise and await between the socket and the lookup cost time and
 * garbage (docs/benchmarks.md).
 */
export interface Transport {
  send(server: ResolverSpec, query: Query, timeoutMs: number, done: (result: Exchange) => void): void;
  close(): Promise<void>;
}

/** The same as a promise (tests, one-off callers). */
export function exchange(
  transport: Transport,
  server: ResolverSpec,
  query: Query,
  timeoutMs: number,
): Promise<Exchange> {
  return new Promise((resolve) => transport.send(server, query, timeoutMs, resolve));
}

export function timedOut(server: ResolverSpec, timeoutMs: number): Exchange {
  return {
    kind: 'failed',
    outcome: 'timeout',
    detail: `no answer from ${server.label} within ${timeoutMs} ms`,
  };
}
