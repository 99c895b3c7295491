import { familyOf, parseAddress, type Family } from '../../src/address.js';
import { readSecret } from '../../src/config/secrets.js';
import { TargetError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import type { ListRef, ListState, Operation, Snapshot, TargetPlan } from '../../src/planner/target.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult } from '../types.js';
import { RouterOsSession, TrapError, type Row } from './session.js';
import type { MikrotikTarget } from './settings.js';
import { tlsOptions } from './tls.js';

/** Entries dnsfence owns are static and carry this comment prefix; everything else is left alone. */
const MARKER = 'dnsfence';
const PATH: Record<Family, string> = {
  ipv4: '/ip/firewall/address-list',
  ipv6: '/ipv6/firewall/address-list',
};
/** Commands in flight at once on the connection (pipelined with .tag). */
const PIPELINE = 32;

/** The entries dnsfence owns in one list: their IDs (more than one: duplicates) and the names in their comment. */
export type OwnedEntries = ReadonlyMap<string, { ids: readonly string[]; names: readonly string[] }>;

/** Per configured list, the entries dnsfence owns there. */
export type RouterOsDetail = ReadonlyMap<string, OwnedEntries>;

export function comment(names: readonly string[]): string {
  return `${MARKER} ${names.join(',')}`;
}

function namesOf(text: string | undefined): string[] {
  return (text ?? '').slice(MARKER.length).trim().split(',').filter(Boolean);
}

/** RouterOS prints `7.19.1 (stable)`; compare numerically. */
export function versionAtLeast(version: string, wanted: number[]): boolean {
  const parts = (/^[\d.]+/.exec(version)?.[0] ?? '0').split('.').map(Number);
  for (let i = 0; i < wanted.length; i++) {
    const d = (parts[i] ?? 0) - (wanted[i] as number);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * MikroTik RouterOS address lists over the API (plain 8728 or API-SSL 8729): IPv4 entries in
 * /ip/firewall/address-list, IPv6 in /ipv6/…, static (no timeout, so they survive a reboot),
 * commented `dnsfence <names>`. Hand-made and dynamic entries in the same list are never touched.
 */
export class MikrotikAdapter implements Adapter<RouterOsDetail> {
  readonly target: string;
  readonly warnings: string[] = [];
  private readonly password: string;
  private session: RouterOsSession | undefined;

  /** `pipeline`: commands in flight at once; 1 is the one-at-a-time baseline of the benchmark. */
  constructor(
    private readonly config: MikrotikTarget,
    private readonly options: { pipeline?: number } = {},
  ) {
    this.target = config.name;
    const secret = readSecret(config.settings.password);
    if (secret.warning) this.warnings.push(secret.warning);
    this.password = secret.value;
  }

  place({ remote }: ListRef): Place {
    const { host, port } = this.config.settings;
    const find = `[find list="${remote}" comment~"^${MARKER}"]`;
    return {
      location: `routeros ${host}:${port} ${remote}`,
      place: `address list ${remote} on ${host}`,
      removal: `/ip firewall address-list remove ${find}; /ipv6 firewall address-list remove ${find}`,
    };
  }

  private async connect(): Promise<RouterOsSession> {
    if (this.session?.alive) return this.session;
    const { host, port, tls, username } = this.config.settings;
    const { timeoutMs } = this.config;
    this.session = await RouterOsSession.open({
      target: this.target,
      host,
      port,
      tls: await tlsOptions(this.target, host, port, tls, timeoutMs),
      user: username,
      password: this.password,
      timeoutMs,
    });
    return this.session;
  }

  private async print(session: RouterOsSession, family: Family, remote: string): Promise<Row[]> {
    // A filtered query, never a dump of the whole table.
    return session.command([
      `${PATH[family]}/print`,
      '=.proplist=.id,address,comment,dynamic,disabled',
      `?list=${remote}`,
    ]);
  }

  private async readList(
    session: RouterOsSession,
    remote: string,
  ): Promise<{ state: ListState; owned: OwnedEntries }> {
    const owned = new Map<string, { ids: string[]; names: string[] }>();
    const foreign = new Set<string>();
    const rows = (
      await Promise.all((['ipv4', 'ipv6'] as Family[]).map((f) => this.print(session, f, remote)))
    ).flat();
    for (const row of rows) {
      const address = parseAddress(row.address ?? '')?.text ?? row.address ?? '';
      const mine = row.dynamic !== 'true' && (row.comment ?? '').startsWith(MARKER) && row['.id'];
      if (!mine) {
        foreign.add(address);
        continue;
      }
      const prior = owned.get(address);
      if (prior) prior.ids.push(row['.id'] as string);
      else owned.set(address, { ids: [row['.id'] as string], names: namesOf(row.comment) });
    }
    const labels = new Map([...owned].map(([a, o]) => [a, o.names]));
    return { state: { owned: new Set(owned.keys()), foreign, labels }, owned };
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<RouterOsDetail>> {
    const session = await this.connect();
    const states = new Map<string, ListState>();
    const detail = new Map<string, OwnedEntries>();
    for (const { list, remote } of lists) {
      const { state, owned } = await this.readList(session, remote);
      states.set(list, state);
      detail.set(list, owned);
    }
    return { lists: states, detail, warnings: [] };
  }

  /** Duplicates left by older configurations or imports are cleaned up, one entry kept. */
  operations(snapshot: Snapshot<RouterOsDetail>, plan: TargetPlan<RouterOsDetail>): Operation[] {
    const ops: Operation[] = [];
    for (const l of plan.lists) {
      // A removal takes every entry of its address, duplicates included.
      const removed = new Set(l.remove.map((c) => c.address));
      for (const [address, entry] of snapshot.detail.get(l.list) ?? new Map()) {
        const extra = entry.ids.slice(1);
        if (extra.length === 0 || removed.has(address)) continue;
        ops.push({
          kind: 'dedupe',
          list: l.list,
          description: `remove ${extra.length} duplicate entr${extra.length === 1 ? 'y' : 'ies'} of ${address} in ${l.remote} (${extra.join(', ')})`,
          data: { address, ids: extra },
        });
      }
    }
    return ops;
  }

  async apply(plan: TargetPlan<RouterOsDetail>): Promise<ApplyResult> {
    const session = await this.connect();
    const applied: Change[] = [];
    const done: Operation[] = [];
    const duplicatesAdded: { list: string; change: Change }[] = [];
    const tasks: (() => Promise<void>)[] = [];
    const path = (address: string) => PATH[familyOf(address)];
    const remoteOf = new Map(plan.lists.map((l) => [l.list, l.remote]));
    const entries = (list: string) => plan.snapshot.detail.get(list) ?? new Map();
    for (const l of plan.lists) {
      for (const c of l.add) {
        tasks.push(async () => {
          try {
            await session.command([
              `${path(c.address)}/add`,
              `=list=${l.remote}`,
              `=address=${c.address}`,
              `=comment=${comment(c.names)}`,
            ]);
            applied.push(c);
          } catch (err) {
            // Already there (a concurrent writer, or an entry this run did not see): re-read below.
            if (err instanceof TrapError && /already have such entry/.test(err.message))
              duplicatesAdded.push({ list: l.list, change: c });
            else throw err;
          }
        });
      }
      for (const c of l.remove) {
        const ids = entries(l.list).get(c.address)?.ids ?? [];
        tasks.push(async () => {
          for (const id of ids) await this.removeId(session, path(c.address), id);
          applied.push(c);
        });
      }
    }
    for (const op of plan.operations) {
      const list = op.list as string;
      if (op.kind === 'relabel') {
        const { address, names } = op.data as { address: string; names: string[] };
        const id = entries(list).get(address)?.ids[0];
        if (id)
          tasks.push(async () => {
            await session.command([`${path(address)}/set`, `=.id=${id}`, `=comment=${comment(names)}`]);
            done.push(op);
          });
      }
      if (op.kind === 'dedupe') {
        const { address, ids } = op.data as { address: string; ids: string[] };
        tasks.push(async () => {
          for (const id of ids) await this.removeId(session, path(address), id);
          done.push(op);
        });
      }
    }
    const total = plan.lists.reduce((n, l) => n + l.add.length + l.remove.length, 0);
    const failures = await runPipelined(tasks, this.options.pipeline ?? PIPELINE);
    for (const list of new Set(duplicatesAdded.map((d) => d.list))) {
      const read = await this.readList(session, remoteOf.get(list) as string).catch(() => undefined);
      if (!read) continue;
      for (const d of duplicatesAdded)
        if (d.list === list && read.owned.has(d.change.address)) applied.push(d.change);
    }
    if (failures.length === 0) return { applied, done };
    const first = failures[0] as Error;
    const lost = !session.alive;
    return {
      applied,
      done,
      error: lost
        ? `connection lost after ${applied.length} of ${total} changes (${first.message}); the next sync completes the rest`
        : `${failures.length} command(s) refused, first: ${first.message}`,
    };
  }

  private async removeId(session: RouterOsSession, path: string, id: string): Promise<void> {
    try {
      await session.command([`${path}/remove`, `=.id=${id}`]);
    } catch (err) {
      // Gone already (removed by hand since the read): the goal is reached.
      if (!(err instanceof TrapError && /no such item/.test(err.message))) throw err;
    }
  }

  async check(): Promise<string> {
    const session = await this.connect();
    const { username } = this.config.settings;
    const resource = (await session.command(['/system/resource/print']))[0] ?? {};
    const version = resource.version ?? 'unknown';
    const notes: string[] = [`RouterOS ${version}`];
    if (!versionAtLeast(version, [6, 43])) {
      notes.push('WARNING: RouterOS before 6.43 uses the old challenge login; upgrade');
    }
    try {
      const user = (await session.command(['/user/print', '=.proplist=name,group', `?name=${username}`]))[0];
      const group = user?.group;
      const policy = group
        ? (await session.command(['/user/group/print', '=.proplist=policy', `?name=${group}`]))[0]?.policy
        : undefined;
      if (policy !== undefined) {
        const granted = policy.split(',').filter((p) => !p.startsWith('!'));
        const missing = ['api', 'read', 'write'].filter((p) => !granted.includes(p));
        const extra = granted.filter((p) => !['api', 'read', 'write'].includes(p));
        notes.push(`user ${username} in group ${group} (policy ${granted.join(',')})`);
        if (missing.length > 0) notes.push(`WARNING: the group lacks ${missing.join(', ')}: syncs will fail`);
        if (extra.length > 0)
          notes.push(
            `WARNING: the group also grants ${extra.join(', ')}: dnsfence needs api,read,write only`,
          );
      }
    } catch (err) {
      if (!(err instanceof TrapError)) throw err;
      notes.push('the user cannot read its own group policy (fine)');
    }
    return notes.join('; ');
  }

  async close(): Promise<void> {
    await this.session?.close();
    this.session = undefined;
  }
}

/** Runs tasks with at most `width` in flight; returns the errors. Stops starting new ones once the connection is gone. */
async function runPipelined(tasks: (() => Promise<void>)[], width: number): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  let stop = false;
  const worker = async () => {
    while (!stop && next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      try {
        await task();
      } catch (err) {
        failures.push(err);
        if (err instanceof TargetError) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return failures;
}
