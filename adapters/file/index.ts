import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseAddress, sortAddresses, type Family } from '../../src/address.js';
import type { FileTargetConfig } from '../../src/config/types.js';
import { UserError } from '../../src/errors.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult, ListRef, ListUpdate } from '../types.js';

/**
 * `<dir>/<list>.txt`, one address a line, IPv4 then IPv6, replaced atomically (temp file,
 * fsync, rename) so a reader (pfctl -T replace -f, ipset restore, a proxy) never sees half a file.
 */
export class FileAdapter implements Adapter {
  readonly target: string;
  readonly families: readonly Family[] = ['ipv4', 'ipv6'];
  readonly readsLocally = true;

  constructor(private readonly config: FileTargetConfig) {
    this.target = config.name;
  }

  private path(remote: string): string {
    return join(this.config.dir, `${remote}.txt`);
  }

  place({ remote }: ListRef): Place {
    const path = this.path(remote);
    return { location: `file ${path}`, place: `file ${path}`, removal: `rm ${path}` };
  }

  async read(lists: ListRef[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const { list, remote } of lists) {
      const path = this.path(remote);
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw new UserError(`target ${this.target}: cannot read ${path}: ${code}`);
      }
      const entries = new Set<string>();
      for (const line of text.split('\n')) {
        const t = line.trim();
        if (t === '' || t.startsWith('#')) continue;
        entries.add(parseAddress(t)?.text ?? t);
      }
      out.set(list, entries);
    }
    return out;
  }

  async apply(updates: ListUpdate[]): Promise<ApplyResult> {
    const applied: ApplyResult['applied'] = [];
    const errors: string[] = [];
    try {
      mkdirSync(this.config.dir, { recursive: true });
    } catch (err) {
      return { applied, error: `cannot create ${this.config.dir}: ${(err as NodeJS.ErrnoException).code}` };
    }
    for (const u of updates) {
      const path = this.path(u.remote);
      const tmp = join(this.config.dir, `.${u.remote}.txt.${process.pid}.tmp`);
      try {
        const content = sortAddresses(u.desired)
          .map((a) => `${a}\n`)
          .join('');
        const fd = openSync(tmp, 'w', 0o644);
        try {
          writeSync(fd, content);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
        applied.push(...u.add, ...u.remove);
      } catch (err) {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing to clean up
        }
        errors.push(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    return errors.length > 0 ? { applied, error: `cannot write ${errors.join('; ')}` } : { applied };
  }

  async check(): Promise<string> {
    return `writes list files to ${this.config.dir}`;
  }

  async close(): Promise<void> {}
}
