import { familyOf, sortAddresses, type Family } from '../../src/address.js';
import { TargetError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import {
  changedLists,
  type ListPlan,
  type ListRef,
  type ListState,
  type Operation,
  type Snapshot,
  type TargetPlan,
} from '../../src/planner/target.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, Additions, ApplyResult } from '../types.js';
import { nftFailure, runNft } from './command.js';
import { parseTableJson, type NftSet } from './json.js';
import { familiesOf, type NftablesTarget } from './settings.js';

const SET_TYPE: Record<Family, string> = { ipv4: 'ipv4_addr', ipv6: 'ipv6_addr' };
const SUFFIX: Record<Family, string> = { ipv4: '_v4', ipv6: '_v6' };
/** Elements per `add element` command: keeps lines reasonable for very large sets. */
const CHUNK = 1000;

/** What a read of the table found: whether it exists, and its sets. */
export interface NftDetail {
  tableExists: boolean;
  sets: ReadonlyMap<string, NftSet>;
}

/**
 * Measured with nft 1.0.6: each `delete element` on an interval set costs about 0.86 µs per
 * element the set holds (1,000 deletes from 100k: 86 s), while `flush set` plus re-adding the
 * whole content costs about 8 µs per element (100k: 0.8 s). Replacing wins from about ten
 * deletions on; both forms are atomic inside one `nft -f` transaction.
 */
export function chooseStrategy(deletes: number): 'incremental' | 'replace' {
  return deletes >= 10 ? 'replace' : 'incremental';
}

/** Linux nftables named sets `<list>_v4` / `<list>_v6`, created when missing; rules are never touched. */
export class NftablesAdapter implements Adapter<NftDetail> {
  readonly target: string;
  readonly warnings: string[] = [];
  private readonly families: Family[];

  constructor(private readonly config: NftablesTarget) {
    this.target = config.name;
    this.families = familiesOf(config.settings.family);
  }

  private setName(remote: string, family: Family): string {
    return `${remote}${SUFFIX[family]}`;
  }

  place({ remote }: ListRef): Place {
    const { family, table, nft } = this.config.settings;
    const sets = this.families.map((f) => this.setName(remote, f));
    const via = nft.join(' ');
    return {
      location: `nftables ${via} ${family} ${table} ${sets.join(',')}`,
      place: `set${sets.length > 1 ? 's' : ''} ${sets.join(' and ')} in table ${family} ${table}${via === 'nft' ? '' : ` (via ${via})`}`,
      removal: sets.map((s) => `${via} delete set ${family} ${table} ${s}`).join('; '),
      probe: { nft, family, table, sets },
    };
  }

  async stillThere(probe: unknown): Promise<boolean> {
    const { nft, family, table, sets } = probe as {
      nft: string[];
      family: string;
      table: string;
      sets: string[];
    };
    for (const set of sets) {
      const r = await runNft(nft, ['list', 'set', family, table, set], this.config.timeoutMs).catch(
        () => undefined,
      );
      // Gone only when nft says so: a failure to ask keeps it listed.
      if (!r || r.code === 0 || !/No such file or directory/.test(r.stderr)) return true;
    }
    return false;
  }

  private async nft(args: string[], stdin?: string) {
    try {
      return await runNft(this.config.settings.nft, args, this.config.timeoutMs, stdin);
    } catch (err) {
      throw new TargetError(this.target, (err as Error).message);
    }
  }

  /**
   * Why an existing set cannot hold a list, with what to do about it; undefined when it can.
   * Lists hold prefixes, which only a set with `flags interval` takes.
   */
  private unusable(set: NftSet, fam: Family): string | undefined {
    const { family, table } = this.config.settings;
    const needed = SET_TYPE[fam];
    let found: string;
    if (set.type !== needed) found = `has type ${typeText(set.type)}`;
    else if (!set.flags.includes('interval')) found = 'has no flags interval';
    else return undefined;
    return (
      `set ${family} ${table} ${set.name} ${found}; dnsfence needs { type ${needed}; flags interval; }: ` +
      `delete it (nft delete set ${family} ${table} ${set.name}) and the next sync creates it anew`
    );
  }

  private async readTable(): Promise<NftDetail> {
    const { family, table } = this.config.settings;
    const r = await this.nft(['-j', 'list', 'table', family, table]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { tableExists: false, sets: new Map() };
      throw new TargetError(this.target, `nft list table ${family} ${table} failed: ${nftFailure(r)}`);
    }
    try {
      return { tableExists: true, sets: parseTableJson(r.stdout) };
    } catch (err) {
      throw new TargetError(this.target, `unreadable JSON from nft -j (${(err as Error).message})`);
    }
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<NftDetail>> {
    const detail = await this.readTable();
    const states = new Map<string, ListState>();
    for (const { list, remote } of lists) {
      const owned = new Set<string>();
      for (const family of this.families) {
        const set = detail.sets.get(this.setName(remote, family));
        if (!set) continue;
        const problem = this.unusable(set, family);
        if (problem) throw new TargetError(this.target, problem);
        for (const e of set.elements) owned.add(e);
      }
      states.set(list, { owned });
    }
    return { lists: states, detail, warnings: [] };
  }

  /** The table and every set of the plan's lists that does not exist yet: created even while empty, so rules can use them. */
  operations(snapshot: Snapshot<NftDetail>, plan: TargetPlan<NftDetail>): Operation[] {
    const { family, table } = this.config.settings;
    const ops: Operation[] = [];
    if (!snapshot.detail.tableExists)
      ops.push({ kind: 'create-table', description: `create table ${family} ${table}` });
    for (const l of plan.lists) {
      for (const fam of this.families) {
        const set = this.setName(l.remote, fam);
        if (snapshot.detail.sets.has(set)) continue;
        ops.push({
          kind: 'create-set',
          list: l.list,
          description: `create set ${family} ${table} ${set} { type ${SET_TYPE[fam]}; flags interval; }`,
          data: { set, family: fam },
        });
      }
    }
    return ops;
  }

  /** The whole plan as one nft script: one kernel transaction, all or nothing. */
  script(
    plan: TargetPlan<NftDetail>,
    detail: NftDetail,
    operations: Operation[],
    forceReplace: boolean,
  ): string {
    const { family, table } = this.config.settings;
    const lines: string[] = [];
    for (const op of operations) {
      if (op.kind === 'create-table') lines.push(`add table ${family} ${table}`);
      if (op.kind === 'create-set') {
        const { set, family: fam } = op.data as { set: string; family: Family };
        lines.push(`add set ${family} ${table} ${set} { type ${SET_TYPE[fam]}; flags interval; }`);
      }
    }
    for (const l of changedLists(plan)) lines.push(...this.listLines(l, detail, forceReplace));
    return `${lines.join('\n')}\n`;
  }

  private listLines(l: ListPlan, detail: NftDetail, forceReplace: boolean): string[] {
    const { family, table } = this.config.settings;
    const lines: string[] = [];
    for (const fam of this.families) {
      const set = this.setName(l.remote, fam);
      const ofFamily = (c: Change) => familyOf(c.address) === fam;
      const adds = l.add.filter(ofFamily).map((c) => c.address);
      const removes = l.remove.filter(ofFamily).map((c) => c.address);
      if (adds.length === 0 && removes.length === 0) continue;
      const exists = detail.sets.has(set);
      if (exists && removes.length > 0 && (forceReplace || chooseStrategy(removes.length) === 'replace')) {
        lines.push(`flush set ${family} ${table} ${set}`);
        const content = sortAddresses(l.desired.filter((a) => familyOf(a) === fam));
        lines.push(...elementLines('add', family, table, set, content));
      } else {
        lines.push(...elementLines('add', family, table, set, adds));
        lines.push(...elementLines('delete', family, table, set, removes));
      }
    }
    return lines;
  }

  async apply(plan: TargetPlan<NftDetail>): Promise<ApplyResult> {
    const changes = plan.lists.flatMap((l) => [...l.add, ...l.remove]);
    let r = await this.nft(['-f', '-'], this.script(plan, plan.snapshot.detail, plan.operations, false));
    if (r.code !== 0 && /does not exist|No such file or directory|overlaps/.test(r.stderr)) {
      // An element, set or table vanished or appeared between read and apply (edited by hand):
      // read again and replace whole sets, which cannot trip over single elements.
      const fresh = await this.readTable();
      const snapshot = { ...plan.snapshot, detail: fresh };
      r = await this.nft(['-f', '-'], this.script(plan, fresh, this.operations(snapshot, plan), true));
    }
    if (r.code !== 0)
      return { applied: [], done: [], error: `nft -f failed, nothing applied: ${nftFailure(r)}` };
    return { applied: changes, done: plan.operations };
  }

  /**
   * Held additions: one transaction that adds the table and each set (no change when they exist
   * as dnsfence makes them) and the elements. Nothing is read first: `nft -f` fails as a whole on
   * a set of another type or an element overlapping a prefix, and the next sync sorts it out.
   */
  async add(additions: readonly Additions[]): Promise<ApplyResult> {
    const { family, table } = this.config.settings;
    const lines = [`add table ${family} ${table}`];
    const applied: Change[] = [];
    for (const { ref, add } of additions) {
      for (const fam of this.families) {
        const mine = add.filter((c) => familyOf(c.address) === fam);
        if (mine.length === 0) continue;
        const set = this.setName(ref.remote, fam);
        lines.push(`add set ${family} ${table} ${set} { type ${SET_TYPE[fam]}; flags interval; }`);
        lines.push(
          ...elementLines(
            'add',
            family,
            table,
            set,
            mine.map((c) => c.address),
          ),
        );
        applied.push(...mine);
      }
    }
    if (applied.length === 0) return { applied, done: [] };
    const r = await this.nft(['-f', '-'], `${lines.join('\n')}\n`);
    if (r.code !== 0)
      return { applied: [], done: [], error: `nft -f failed, nothing added: ${nftFailure(r)}` };
    return { applied, done: [] };
  }

  /** Reads the table as a sync would, and fails on every set of a configured list that a sync would fail on. */
  async check(): Promise<string> {
    const detail = await this.readTable();
    const { family, table } = this.config.settings;
    if (!detail.tableExists) return `table ${family} ${table} does not exist yet (the first sync creates it)`;
    const problems: string[] = [];
    for (const remote of new Set(this.config.lists.values())) {
      for (const fam of this.families) {
        const set = detail.sets.get(this.setName(remote, fam));
        const problem = set && this.unusable(set, fam);
        if (problem) problems.push(problem);
      }
    }
    if (problems.length > 0) throw new TargetError(this.target, problems.join('; '));
    return `table ${family} ${table} holds ${detail.sets.size} set(s)`;
  }

  async close(): Promise<void> {}
}

/** A set's type as nft writes it: `ipv4_addr`, or `ipv4_addr . inet_service` for a concatenation. */
function typeText(type: unknown): string {
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.map(typeText).join(' . ');
  return JSON.stringify(type);
}

function elementLines(
  verb: 'add' | 'delete',
  family: string,
  table: string,
  set: string,
  elements: string[],
): string[] {
  const lines: string[] = [];
  for (let i = 0; i < elements.length; i += CHUNK) {
    lines.push(`${verb} element ${family} ${table} ${set} { ${elements.slice(i, i + CHUNK).join(', ')} }`);
  }
  return lines;
}
