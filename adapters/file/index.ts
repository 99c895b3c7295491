import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseAddress, sortAddresses, type Family } from '../../src/address.js';
import type { FileTargetConfig } from '../../src/config/types.js';
import { errnoText } from '../../src/errno.js';
import { UserError } from '../../src/errors.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult, ListRef, ListUpdate } from '../types.js';
import { folderProblem, makeFolder } from './folder.js';

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
        if (code !== 'ENOENT')
          throw new UserError(`target ${this.target}: cannot read ${path}: ${errnoText(err)}`);
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
      makeFolder(this.config.dir);
    } catch (err) {
      const path = (err as NodeJS.ErrnoException).path ?? this.config.dir;
      return { applied, error: `cannot create ${path}: ${errnoText(err)}` };
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
        errors.push(`${path}: ${errnoText(err)}`);
      }
    }
    return errors.length > 0 ? { applied, error: `cannot write ${errors.join('; ')}` } : { applied };
  }

  /** What a sync would trip over: a folder it cannot create or write, a list file it cannot read. */
  async check(): Promise<string> {
    const { dir } = this.config;
    const problem = folderProblem(dir);
    if (problem) throw new UserError(`target ${this.target}: ${problem}`);
    await this.read([...this.config.lists.values()].map((remote) => ({ list: remote, remote })));
    return existsSync(dir)
      ? `writes list files to ${dir}`
      : `writes list files to ${dir} (created by the first sync)`;
  }

  async close(): Promise<void> {}
}
