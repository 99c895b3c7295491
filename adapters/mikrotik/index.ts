import { familyOf, parseAddress, type Family } from '../../src/address.js';
import { readSecret } from '../../src/config/secrets.js';
import type { MikrotikTargetConfig } from '../../src/config/types.js';
import { UserError } from '../../src/errors.js';
import type { Change } from '../../src/model/change.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult, ListRef, ListUpdate } from '../types.js';
import { RouterOsSession, TrapError, type Row } from './session.js';
import { tlsOptions } from './tls.js';

/** Entries dnsfence owns are static and carry this comment prefix; everything else is left alone. */
const MARKER = 'dnsfence';
const PATH: Record<Family, string> = {
  ipv4: '/ip/firewall/address-list',
  ipv6: '/ipv6/firewall/address-list',
};
/** Commands in flight at once on the connection (pipelined with .tag). */
const PIPELINE = 32;

interface Owned {
  ids: string[];
  names: string[];
}

interface ListState {
  remote: string;
  owned: Map<string, Owned>;
  foreign: Set<string>;
}

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
export class MikrotikAdapter implements Adapter {
  readonly target: string;
  readonly families: readonly Family[] = ['ipv4', 'ipv6'];
  readonly warnings: string[] = [];
  private readonly password: string;
  private session: RouterOsSession | undefined;
  private readonly lists = new Map<string, ListState>();

  /** `pipeline`: commands in flight at once; 1 is the one-at-a-time baseline of the benchmark. */
  constructor(
    private readonly config: MikrotikTargetConfig,
    private readonly options: { pipeline?: number } = {},
  ) {
    this.target = config.name;
    const secret = readSecret(config.password);
    if (secret.warning) this.warnings.push(secret.warning);
    this.password = secret.value;
  }

  place({ remote }: ListRef): Place {
    const { host, port } = this.config;
    const find = `[find list="${remote}" comment~"^${MARKER}"]`;
    return {
      location: `routeros ${host}:${port} ${remote}`,
      place: `address list ${remote} on ${host}`,
      removal: `/ip firewall address-list remove ${find}; /ipv6 firewall address-list remove ${find}`,
    };
  }

  private async connect(): Promise<RouterOsSession> {
    if (this.session?.alive) return this.session;
    const { host, port, tls, timeoutMs, username } = this.config;
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

  private async readList(session: RouterOsSession, remote: string): Promise<ListState> {
    const state: ListState = { remote, owned: new Map(), foreign: new Set() };
    const rows = (await Promise.all(this.families.map((f) => this.print(session, f, remote)))).flat();
    for (const row of rows) {
      const address = parseAddress(row.address ?? '')?.text ?? row.address ?? '';
      const mine = row.dynamic !== 'true' && (row.comment ?? '').startsWith(MARKER) && row['.id'];
      if (!mine) {
        state.foreign.add(address);
        continue;
      }
      const prior = state.owned.get(address);
      if (prior) prior.ids.push(row['.id'] as string);
      else state.owned.set(address, { ids: [row['.id'] as string], names: namesOf(row.comment) });
    }
    return state;
  }

  async read(lists: ListRef[]): Promise<Map<string, Set<string>>> {
    const session = await this.connect();
    const out = new Map<string, Set<string>>();
    for (const { list, remote } of lists) {
      const state = await this.readList(session, remote);
      this.lists.set(list, state);
      out.set(list, new Set(state.owned.keys()));
    }
    return out;
  }

  foreign(list: string): ReadonlySet<string> {
    return this.lists.get(list)?.foreign ?? new Set();
  }

  labels(list: string): ReadonlyMap<string, string[]> {
    return new Map(
      [...(this.lists.get(list)?.owned ?? new Map<string, Owned>())].map(([a, o]) => [a, o.names]),
    );
  }

  /** Duplicates left by older configurations or imports are cleaned up, one entry kept. */
  pending(): boolean {
    return [...this.lists.values()].some((s) => [...s.owned.values()].some((o) => o.ids.length > 1));
  }

  async apply(updates: ListUpdate[]): Promise<ApplyResult> {
    const session = await this.connect();
    const applied: Change[] = [];
    const duplicatesAdded: { list: string; change: Change }[] = [];
    const tasks: (() => Promise<void>)[] = [];
    const path = (address: string) => PATH[familyOf(address)];
    for (const u of updates) {
      const state = this.lists.get(u.list) ?? { remote: u.remote, owned: new Map(), foreign: new Set() };
      for (const c of u.add) {
        tasks.push(async () => {
          try {
            await session.command([
              `${path(c.address)}/add`,
              `=list=${u.remote}`,
              `=address=${c.address}`,
              `=comment=${comment(c.names)}`,
            ]);
            applied.push(c);
          } catch (err) {
            // Already there (a concurrent writer, or an entry this run did not see): re-read below.
            if (err instanceof TrapError && /already have such entry/.test(err.message))
              duplicatesAdded.push({ list: u.list, change: c });
            else throw err;
          }
        });
      }
      for (const c of u.remove) {
        const ids = state.owned.get(c.address)?.ids ?? [];
        tasks.push(async () => {
          for (const id of ids) await this.removeId(session, path(c.address), id);
          applied.push(c);
        });
      }
      for (const r of u.relabel) {
        const id = state.owned.get(r.address)?.ids[0];
        if (id)
          tasks.push(
            async () =>
              void (await session.command([
                `${path(r.address)}/set`,
                `=.id=${id}`,
                `=comment=${comment(r.names)}`,
              ])),
          );
      }
    }
    for (const state of this.lists.values()) {
      for (const [address, owned] of state.owned) {
        for (const id of owned.ids.slice(1)) tasks.push(() => this.removeId(session, path(address), id));
        owned.ids = owned.ids.slice(0, 1);
      }
    }
    const total = updates.reduce((n, u) => n + u.add.length + u.remove.length, 0);
    const failures = await runPipelined(tasks, this.options.pipeline ?? PIPELINE);
    for (const list of new Set(duplicatesAdded.map((d) => d.list))) {
      const remote = updates.find((u) => u.list === list)?.remote as string;
      const state = await this.readList(session, remote).catch(() => undefined);
      if (!state) continue;
      this.lists.set(list, state);
      for (const d of duplicatesAdded)
        if (d.list === list && state.owned.has(d.change.address)) applied.push(d.change);
    }
    if (failures.length === 0) return { applied };
    const first = failures[0] as Error;
    const lost = !session.alive;
    const reason = first.message.replace(`target ${this.target}: `, '');
    return {
      applied,
      error: lost
        ? `connection lost after ${applied.length} of ${total} changes (${reason}); the next sync completes the rest`
        : `${failures.length} command(s) refused, first: ${reason}`,
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
    const resource = (await session.command(['/system/resource/print']))[0] ?? {};
    const version = resource.version ?? 'unknown';
    const notes: string[] = [`RouterOS ${version}`];
    if (!versionAtLeast(version, [6, 43])) {
      notes.push('WARNING: RouterOS before 6.43 uses the old challenge login; upgrade');
    }
    try {
      const user = (
        await session.command(['/user/print', '=.proplist=name,group', `?name=${this.config.username}`])
      )[0];
      const group = user?.group;
      const policy = group
        ? (await session.command(['/user/group/print', '=.proplist=policy', `?name=${group}`]))[0]?.policy
        : undefined;
      if (policy !== undefined) {
        const granted = policy.split(',').filter((p) => !p.startsWith('!'));
        const missing = ['api', 'read', 'write'].filter((p) => !granted.includes(p));
        const extra = granted.filter((p) => !['api', 'read', 'write'].includes(p));
        notes.push(`user ${this.config.username} in group ${group} (policy ${granted.join(',')})`);
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

/** Runs tasks with at most `width` in flight; returns the errors. Stops starting new ones after a UserError. */
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
        if (err instanceof UserError) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return failures;
}
