import { readFileSync, statSync } from 'node:fs';
import { errnoText } from '../errno.js';
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
  const { text, warning } = readSecretFile(file, ref.key);
  const value = text.trim();
  if (value === '') throw new ConfigError(`${ref.key}: ${file} is empty`);
  const secret: Secret = { value };
  if (warning !== undefined) secret.warning = warning;
  return secret;
}

/**
 * A file that holds secrets, read with a warning when group or others can read it too: the
 * same check for every secret, users and key file dnsfence reads.
 */
export function readSecretFile(path: string, key: string): { text: string; warning?: string } {
  let text: string;
  let mode: number;
  try {
    text = readFileSync(path, 'utf8');
    mode = statSync(path).mode;
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path}: ${errnoText(err)}`);
  }
  if ((mode & 0o077) === 0) return { text };
  return {
    text,
    warning: `${key}: ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
  };
}
