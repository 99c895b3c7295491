import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecretFile } from '../config/secrets.js';
import { ConfigError } from '../errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** What a request's credentials turned out to be. */
export type Credentials = { user: string } | { missing: true } | { wrong: true };

/**
 * The users of `serve.users_file`: lines `user:secret`, HTTP Basic. Secrets are kept as SHA-256
 * digests and compared in constant time; a user name that is not there costs the same comparison,
 * so the time of an answer tells nothing about which names exist. No secret is ever part of a
 * message: a bad line is named by its number.
 */
export class Users {
  private constructor(
    private readonly digests: Map<string, Buffer>,
    /** Set when the file can be read by group or others. */
    readonly warning: string | undefined,
  ) {}

  static read(path: string, key = 'serve.users_file'): Users {
    const { text, warning } = readSecretFile(path, key);
    const digests = new Map<string, Buffer>();
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const where = `${key}: ${path} line ${i + 1}`;
      if (colon <= 0 || colon === line.length - 1)
        throw new ConfigError(
          `${where}: not user:secret (a user name, a colon, a secret of at least one character)`,
        );
      const user = line.slice(0, colon);
      if (digests.has(user)) throw new ConfigError(`${where}: user ${user} is there twice`);
      digests.set(user, digest(line.slice(colon + 1)));
    });
    if (digests.size === 0) throw new ConfigError(`${key}: ${path} holds no user:secret line`);
    return new Users(digests, warning);
  }

  get size(): number {
    return this.digests.size;
  }

  /** The `Authorization` header of a request, checked. */
  check(header: string | undefined): Credentials {
    const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
    if (!m) return { missing: true };
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { wrong: true };
    const user = decoded.slice(0, colon);
    const given = digest(decoded.slice(colon + 1));
    const known = this.digests.get(user);
    const match = timingSafeEqual(given, known ?? UNKNOWN);
    return known && match ? { user } : { wrong: true };
  }
}

/** Compared against when the user is unknown, so that an unknown user costs what a known one does. */
const UNKNOWN = digest('\u0000no such user');
