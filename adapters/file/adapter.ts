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
import { parseAddress, sortAddresses } from '../../src/address.js';
import { errnoText } from '../../src/errno.js';
import { TargetError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import {
  changedLists,
  type ListPlan,
  type ListRef,
  type ListState,
  type Snapshot,
  type TargetPlan,
} from '../../src/planner/target.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, Additions, ApplyResult } from '../types.js';
import { folderProblem, makeFolder } from './folder.js';
import type { FileTarget } from './index.js';

/**
 * `<dir>/<list>.txt`, one address a line, IPv4 then IPv6, replaced atomically (temp file,
 * fsync, rename) so a reader (pfctl -T replace -f, ipset restore, a proxy) never sees half a file.
 */
export class FileAdapter implements Adapter<undefined> {
  readonly target: string;
  readonly warnings: string[] = [];

  constructor(private readonly config: FileTarget) {
    this.target = config.name;
  }

  private path(remote: string): string {
    return join(this.config.settings.dir, `${remote}.txt`);
  }

  place({ remote }: ListRef): Place {
    const path = this.path(remote);
    return { location: `file ${path}`, place: `file ${path}`, removal: `rm ${path}`, probe: { path } };
  }

  async stillThere(probe: unknown): Promise<boolean> {
    return existsSync((probe as { path: string }).path);
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<undefined>> {
    const states = new Map<string, ListState>();
    for (const { list, remote } of lists) {
      const path = this.path(remote);
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw new TargetError(this.target, `cannot read ${path}: ${errnoText(err)}`);
      }
      const owned = new Set<string>();
      for (const line of text.split('\n')) {
        const t = line.trim();
        if (t === '' || t.startsWith('#')) continue;
        owned.add(parseAddress(t)?.text ?? t);
      }
      states.set(list, { owned });
    }
    return { lists: states, detail: undefined, warnings: [] };
  }

  async apply(plan: TargetPlan<undefined>): Promise<ApplyResult> {
    const applied: Change[] = [];
    const errors: string[] = [];
    const { dir } = this.config.settings;
    try {
      makeFolder(dir);
    } catch (err) {
      const path = (err as NodeJS.ErrnoException).path ?? dir;
      return { applied, done: [], error: `cannot create ${path}: ${errnoText(err)}` };
    }
    for (const l of changedLists(plan)) {
      const path = this.path(l.remote);
      const tmp = join(dir, `.${l.remote}.txt.${process.pid}.tmp`);
      try {
        const content = sortAddresses(l.desired)
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
        applied.push(...l.add, ...l.remove);
      } catch (err) {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing to clean up
        }
        errors.push(`${path}: ${errnoText(err)}`);
      }
    }
    return errors.length > 0
      ? { applied, done: [], error: `cannot write ${errors.join('; ')}` }
      : { applied, done: plan.operations };
  }

  /**
   * Held additions: each list file read, the entries added, and the file replaced as `apply`
   * does (written, flushed, renamed into place).
   */
  async add(additions: readonly Additions[]): Promise<ApplyResult> {
    let snapshot: Snapshot<undefined>;
    try {
      snapshot = await this.read(additions.map((a) => a.ref));
    } catch (err) {
      return { applied: [], done: [], error: (err as Error).message };
    }
    const lists = additions.map((a): ListPlan => {
      const owned = snapshot.lists.get(a.ref.list)?.owned ?? new Set<string>();
      const add = a.add.filter((c) => !owned.has(c.address));
      return {
        ...a.ref,
        add,
        remove: [],
        record: [],
        held: [],
        refused: [],
        desired: [...owned, ...add.map((c) => c.address)],
      };
    });
    const result = await this.apply({ target: this.target, lists, operations: [], snapshot });
    // Entries the file held already are there as well: confirmed with the rest.
    const there = additions.flatMap((a) => {
      const owned = snapshot.lists.get(a.ref.list)?.owned;
      return a.add.filter((c) => owned?.has(c.address));
    });
    return { ...result, applied: [...result.applied, ...(result.error ? [] : there)] };
  }

  /** What a sync would trip over: a folder it cannot create or write, a list file it cannot read. */
  async check(): Promise<string> {
    const { dir } = this.config.settings;
    const problem = folderProblem(dir);
    if (problem) throw new TargetError(this.target, problem);
    await this.read([...this.config.lists.values()].map((remote) => ({ list: remote, remote })));
    return existsSync(dir)
      ? `writes list files to ${dir}`
      : `writes list files to ${dir} (created by the first sync)`;
  }

  async close(): Promise<void> {}
}
