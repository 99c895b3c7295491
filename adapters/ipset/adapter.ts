import { familyOf, sortAddresses, type Family } from '../../src/address.js';
import { errorMessage, TargetError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import type { ListRef, ListState, Operation, Snapshot, TargetPlan } from '../../src/planner/target.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, Additions, ApplyResult } from '../types.js';
import { failedLine, ipsetFailure, runIpset } from './command.js';

/** The `ipset restore` line that creates a set as dnsfence makes them. */
const createLine = (set: string, family: Family, maxelem: number) =>
  `create ${set} hash:net family ${ipsetFamily(family)} maxelem ${maxelem}`;
import { parseSave, SaveFormatError, type SavedSet } from './save.js';
import { ipsetFamily, setName, tempName, type IpsetTarget } from './settings.js';

/** What a read found: the sets of the configured lists, and leftover temporary sets, that exist. */
export interface IpsetDetail {
  sets: ReadonlyMap<string, SavedSet>;
}

/** What an operation of the plan works on. */
interface SetOp {
  set: string;
  family: Family;
  /** The set a rebuild fills before swapping it in. */
  temp?: string;
}

/**
 * ipset `hash:net` sets `<prefix><list>_v4` / `_v6` for iptables and ip6tables rules. A changed set
 * is rebuilt whole in a temporary set and swapped in, so a rule never sees it half filled; rules
 * and every other set are never touched.
 */
export class IpsetAdapter implements Adapter<IpsetDetail> {
  readonly target: string;
  readonly warnings: string[] = [];

  constructor(private readonly config: IpsetTarget) {
    this.target = config.name;
  }

  private get settings() {
    return this.config.settings;
  }

  private sets(remote: string): { family: Family; live: string; temp: string }[] {
    const { prefix, families } = this.settings;
    return families.map((family) => {
      const live = setName(prefix, remote, family);
      return { family, live, temp: tempName(prefix, live) };
    });
  }

  /** A hash:net set holds no /0 (`ipset add` refuses the CIDR). */
  accepts(address: string): boolean {
    return !address.endsWith('/0');
  }

  place({ remote }: ListRef): Place {
    const names = this.sets(remote).map((s) => s.live);
    const via = this.settings.ipset.join(' ');
    return {
      location: `ipset ${via} ${names.join(',')}`,
      place: `ipset set${names.length > 1 ? 's' : ''} ${names.join(' and ')}${via === 'ipset' ? '' : ` (via ${via})`}`,
      removal: names.map((s) => `${via} destroy ${s}`).join('; '),
    };
  }

  private async ipset(args: string[], stdin?: string) {
    try {
      return await runIpset(this.settings.ipset, args, this.config.timeoutMs, stdin);
    } catch (err) {
      throw new TargetError(this.target, (err as Error).message);
    }
  }

  /** Every set dnsfence may touch on this target: the live and temporary sets of its lists. */
  private ownNames(remotes: Iterable<string>): Set<string> {
    const names = new Set<string>();
    for (const remote of remotes) for (const s of this.sets(remote)) names.add(s.live).add(s.temp);
    return names;
  }

  /** One `ipset save`, parsed strictly; only dnsfence's own sets are kept. */
  private async readSets(remotes: Iterable<string>): Promise<IpsetDetail> {
    const own = this.ownNames(remotes);
    const r = await this.ipset(['save']);
    if (r.code !== 0) throw new TargetError(this.target, `ipset save failed: ${ipsetFailure(r)}`);
    try {
      return { sets: parseSave(r.stdout, (name) => own.has(name)) };
    } catch (err) {
      if (!(err instanceof SaveFormatError)) throw err;
      throw new TargetError(this.target, `unreadable output of ipset save (${err.message})`);
    }
  }

  /** Why an existing set cannot hold a list, with what to do about it; undefined when it can. */
  private unusable(set: SavedSet, family: Family): string | undefined {
    const needed = `hash:net family ${ipsetFamily(family)}`;
    let found: string;
    if (set.type !== 'hash:net' || set.family !== ipsetFamily(family))
      found = `is ${set.type}${set.family ? ` family ${set.family}` : ''}`;
    else if (set.extensions.length > 0) found = `was created with ${set.extensions.join(' ')}`;
    else if (set.optioned.length > 0) found = `holds entries with options (${set.optioned[0]})`;
    else return undefined;
    const via = this.settings.ipset.join(' ');
    return (
      `set ${set.name} ${found}; dnsfence needs a plain ${needed}: remove the iptables rules that use it, ` +
      `destroy it (${via} destroy ${set.name}), and the next sync creates it anew`
    );
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<IpsetDetail>> {
    const detail = await this.readSets(lists.map((l) => l.remote));
    const states = new Map<string, ListState>();
    for (const { list, remote } of lists) {
      const owned = new Set<string>();
      for (const { family, live } of this.sets(remote)) {
        const set = detail.sets.get(live);
        if (!set) continue;
        const problem = this.unusable(set, family);
        if (problem) throw new TargetError(this.target, problem);
        for (const e of set.entries) owned.add(e);
      }
      states.set(list, { owned });
    }
    return { lists: states, detail, warnings: [] };
  }

  /**
   * Per set of the plan's lists: a temporary set a killed sync left behind is destroyed, a missing
   * set is created (also while its list is empty, so rules can use it), and a set whose content
   * changes is rebuilt and swapped in. A list that outgrows `maxelem` fails the target here, so
   * `plan` says so as `sync` would.
   */
  operations(snapshot: Snapshot<IpsetDetail>, plan: TargetPlan<IpsetDetail>): Operation[] {
    const { maxelem } = this.settings;
    const ops: Operation[] = [];
    for (const l of plan.lists) {
      for (const { family, live, temp } of this.sets(l.remote)) {
        const data: SetOp = { set: live, family };
        if (snapshot.detail.sets.has(temp))
          ops.push({
            kind: 'destroy-leftover',
            list: l.list,
            description: `destroy set ${temp}, left behind by an interrupted sync`,
            data: { set: temp, family },
          });
        if (!snapshot.detail.sets.has(live))
          ops.push({
            kind: 'create-set',
            list: l.list,
            description: createLine(live, family, maxelem).replace(/^create /, 'create set '),
            data,
          });
        const ofFamily = (c: Change) => familyOf(c.address) === family;
        if (!l.add.some(ofFamily) && !l.remove.some(ofFamily)) continue;
        const size = l.desired.filter((a) => familyOf(a) === family).length;
        if (size > maxelem)
          throw new TargetError(
            this.target,
            `list ${l.list} needs ${size} entries in set ${live}, more than maxelem ${maxelem} allows: ` +
              `raise maxelem on the target (the next sync rebuilds the set with it); nothing was written`,
          );
        ops.push({
          kind: 'rebuild',
          list: l.list,
          description: `rebuild set ${live} (${size} entr${size === 1 ? 'y' : 'ies'}) and swap it in`,
          data: { ...data, temp },
        });
      }
    }
    return ops;
  }

  /**
   * The plan as one `ipset restore` script. Every temporary set is filled before the first swap:
   * a refused entry or a full set stops the restore while no live set has changed. The swaps
   * follow, each atomic in the kernel, then the temporary sets (now holding the old content) go.
   * `takesEffect`: the line at which each operation is done.
   */
  script(plan: TargetPlan<IpsetDetail>): { text: string; takesEffect: Map<Operation, number> } {
    const { maxelem } = this.settings;
    const lines: string[] = [];
    const takesEffect = new Map<Operation, number>();
    const of = (kind: string) => plan.operations.filter((o) => o.kind === kind);
    const create = ({ set, family }: SetOp) => createLine(set, family, maxelem);
    const push = (op: Operation, line: string) => takesEffect.set(op, lines.push(line));
    for (const op of of('destroy-leftover')) push(op, `destroy ${(op.data as SetOp).set}`);
    for (const op of of('create-set')) push(op, create(op.data as SetOp));
    const rebuilds = of('rebuild');
    for (const op of rebuilds) {
      const { family, temp } = op.data as SetOp;
      const desired = plan.lists.find((l) => l.list === op.list)?.desired ?? [];
      lines.push(create({ set: temp as string, family }));
      for (const a of sortAddresses(desired.filter((x) => familyOf(x) === family)))
        lines.push(`add ${temp} ${a}`);
    }
    for (const op of rebuilds) push(op, `swap ${(op.data as SetOp).temp} ${(op.data as SetOp).set}`);
    for (const op of rebuilds) lines.push(`destroy ${(op.data as SetOp).temp}`);
    return { text: `${lines.join('\n')}\n`, takesEffect };
  }

  async apply(plan: TargetPlan<IpsetDetail>): Promise<ApplyResult> {
    const { text, takesEffect } = this.script(plan);
    let r;
    try {
      r = await runIpset(this.settings.ipset, ['restore'], this.config.timeoutMs, text);
    } catch (err) {
      // Stopped at the time limit, or never started: the next sync reads what it left.
      return { applied: [], done: [], error: `${errorMessage(err)}; nothing confirmed` };
    }
    if (r.code === 0)
      return { applied: plan.lists.flatMap((l) => [...l.add, ...l.remove]), done: plan.operations };
    // ipset restore runs its lines in order and stops at the first that fails: what came before it
    // is done, and the line number says exactly which swaps took place.
    const stop = failedLine(r);
    const done = plan.operations.filter(
      (op) => stop !== undefined && (takesEffect.get(op) ?? Infinity) < stop.line,
    );
    await this.destroyTemps(plan);
    const swapped = done.filter((op) => op.kind === 'rebuild');
    const applied = swapped.flatMap((op) => {
      const { family } = op.data as SetOp;
      const l = plan.lists.find((x) => x.list === op.list);
      return [...(l?.add ?? []), ...(l?.remove ?? [])].filter((c) => familyOf(c.address) === family);
    });
    const where = stop
      ? ` at line ${stop.line} (${text.split('\n')[stop.line - 1]}): ${stop.message}`
      : `: ${ipsetFailure(r)}`;
    const outcome =
      swapped.length === 0
        ? 'no set was swapped, nothing applied'
        : `swapped in before it: ${swapped.map((o) => (o.data as SetOp).set).join(', ')}; the rest untouched`;
    return { applied, done, error: `ipset restore failed${where}; ${outcome}` };
  }

  /**
   * Held additions: one `ipset -exist restore` that creates each missing set as dnsfence makes it
   * and adds the entries one by one (each add is atomic in the kernel: no rule sees a half
   * rebuilt set). Nothing is read first; a set of another type fails the restore, and the next
   * sync sorts it out.
   */
  async add(additions: readonly Additions[]): Promise<ApplyResult> {
    const { maxelem } = this.settings;
    const lines: string[] = [];
    const applied: Change[] = [];
    for (const { ref, add } of additions) {
      for (const { family, live } of this.sets(ref.remote)) {
        const mine = add.filter((c) => familyOf(c.address) === family);
        if (mine.length === 0) continue;
        lines.push(createLine(live, family, maxelem));
        for (const c of mine) lines.push(`add ${live} ${c.address}`);
        applied.push(...mine);
      }
    }
    if (applied.length === 0) return { applied, done: [] };
    let r;
    try {
      r = await runIpset(
        this.settings.ipset,
        ['-exist', 'restore'],
        this.config.timeoutMs,
        `${lines.join('\n')}\n`,
      );
    } catch (err) {
      return { applied: [], done: [], error: `${errorMessage(err)}; nothing confirmed` };
    }
    if (r.code !== 0) {
      // Lines before the failing one took effect: the next sync reads them and records them.
      return { applied: [], done: [], error: `ipset restore failed: ${ipsetFailure(r)}; nothing confirmed` };
    }
    return { applied, done: [] };
  }

  /** After a failed restore, the temporary sets it made go, so none lingers until the next sync. */
  private async destroyTemps(plan: TargetPlan<IpsetDetail>): Promise<void> {
    const temps = plan.operations.filter((o) => o.kind === 'rebuild').map((o) => (o.data as SetOp).temp);
    if (temps.length === 0) return;
    // -exist: a set the restore never got to create is no error. A failure here changes nothing
    // that matters: the next sync finds what is left and destroys it.
    const script = temps.map((t) => `destroy ${t}\n`).join('');
    await runIpset(this.settings.ipset, ['-exist', 'restore'], this.config.timeoutMs, script).catch(
      () => undefined,
    );
  }

  /**
   * `ipset save` shows that the command runs and the kernel's ip_set answers; every set of a
   * configured list that a sync would refuse fails the check, with what to do. Reads only.
   */
  async check(): Promise<string> {
    const remotes = new Set(this.config.lists.values());
    const detail = await this.readSets(remotes);
    const problems: string[] = [];
    let present = 0;
    let wanted = 0;
    for (const remote of remotes)
      for (const { family, live } of this.sets(remote)) {
        wanted += 1;
        const set = detail.sets.get(live);
        if (!set) continue;
        present += 1;
        const problem = this.unusable(set, family);
        if (problem) problems.push(problem);
      }
    if (problems.length > 0) throw new TargetError(this.target, problems.join('; '));
    const left = [...remotes].flatMap((r) => this.sets(r).filter((s) => detail.sets.has(s.temp)));
    return (
      `ipset save answers; ${present} of ${wanted} set(s) exist${present < wanted ? ' (the next sync creates the others)' : ''}` +
      (left.length > 0
        ? `; ${left.map((s) => s.temp).join(', ')} left behind by an interrupted sync (the next sync destroys ${left.length > 1 ? 'them' : 'it'})`
        : '')
    );
  }

  async close(): Promise<void> {}
}
