import { createRequire } from 'node:module';
import type * as Crypto from 'node:crypto';

let crypto: typeof Crypto | undefined;

/**
 * SHA-256 of a text, in hex, with the one-shot `crypto.hash` (Node 20.12), half the cost of a Hash
 * object. node:crypto is loaded on first use: `status` and the other commands that hash nothing
 * are spared its 2–3 ms of loading.
 */
export function sha256Hex(text: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof Crypto;
  return crypto.hash('sha256', text, 'hex');
}
