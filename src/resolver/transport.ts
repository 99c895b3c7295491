import type { Message } from './decode.js';
import type { Outcome } from './types.js';
import type { Query } from './message.js';
import type { ResolverSpec } from './servers.js';

export type Exchange =
  | { kind: 'packet'; packet: Message }
  | { kind: 'truncated' }
  | { kind: 'failed'; outcome: Outcome; detail: string };

/** Sends one query to one server and waits for the matching answer, at most `timeoutMs`. */
export interface Transport {
  exchange(server: ResolverSpec, query: Query, timeoutMs: number): Promise<Exchange>;
  close(): Promise<void>;
}

export function timedOut(server: ResolverSpec, timeoutMs: number): Exchange {
  return {
    kind: 'failed',
    outcome: 'timeout',
    detail: `no answer from ${server.label} within ${timeoutMs} ms`,
  };
}
