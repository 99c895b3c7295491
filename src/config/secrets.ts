import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { SecretRef } from './types.js';

export interface Secret {
  value: string;
  /** Set when the secret file can be read by group or others. */
  warning?: string;
}

/**
 * Reads a `*_env` / `*_file` secret at start-up. The value is never part of an error
 * message: only the key and the variable or file name are.
 */
export function readSecret(ref: SecretRef, env = process.env): Secret {
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${ref.key}: environment variable ${ref.env} is not set or empty`);
    }
    return { value };
  }
  const file = ref.file as string;
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (err) {
    throw new ConfigError(
      `${ref.key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const value = text.trim();
  if (value === '') throw new ConfigError(`${ref.key}: ${file} is empty`);
  const secret: Secret = { value };
  if ((mode & 0o077) !== 0) {
    secret.warning = `${ref.key}: ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
  }
  return secret;
}
