import { createAdapter, traitsOf } from '../../adapters/registry.js';
import type { Adapter, Additions, ApplyResult } from '../../adapters/types.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { KeyedLock } from '../keyed-lock.js';
import type { Logger } from '../log.js';
import type { Change } from '../model/change.js';
import { freshEntries } from '../planner/desired.js';
import type { ListRef } from '../planner/target.js';
import { stmt, type Db } from '../store/db.js';
import type { Clock } from '../time.js';
import type { Learning } from './learn.js';
import type { Recorder } from './record.js';

/** One address on its way to one list on a hold target; answers that need it wait for `done`. */
export interface Addition {
  target: string;
  ref: ListRef;
  change: Change;
  done: Promise<void>;
  /** Settled: the target confirmed it (`ok`), or failed to. */
  settled: boolean;
  ok: boolean;
  settle(ok: boolean): void;
  /** An answer that needed it went out before the target confirmed it (late, or `hold: 0s`). */
  released: boolean;
  /** The client of the first answer that taught it. */
  client: string;
}

/** After new addresses for other targets arrive, the sync that brings them there waits this long for more. */
const FOLLOW_UP_MS = 1000;
/** A sync asked for an address that a target then still lacks is asked for again after this. */
const ASK_AGAIN_MS = 30_000;

const key = (list: string, address: string) => `${list}\u0000${address}`;

const targetText = (t: TargetConfig) => JSON.stringify({ ...t, lists: [...t.lists] });
const sameTarget = (a: TargetConfig | undefined, b: TargetConfig) =>
  a !== undefined && targetText(a) === targetText(b);

/**
 * Holds answers until the hold targets have their new addresses. It knows what each target list
 * holds (the audit log's account, kept up to date after every sync and every addition); an
 * answer whose list-bound addresses a hold target lacks waits for an addition. The additions of
 * one turn of the event loop, and those made while a transaction is under way, go in one
 * transaction of the target, while no sync reads or writes it (the lock a sync takes too).
 * What a target confirmed is known at once, released to the answers, then recorded in the audit
 * log. Targets that cannot hold answers get the addresses from a sync of the lists soon after.
 */
export class Holder {
  /** target → list → addresses the audit log says it holds. */
  private known = new Map<string, Map<string, Set<string>>>();
  private queued = new Map<string, Map<string, Addition>>();
  private inFlight = new Map<string, Map<string, Addition>>();
  private adapters = new Map<string, Adapter>();
  /** Targets with a transaction under way. */
  private readonly running = new Set<string>();
  private readonly scheduled = new Set<string>();
  private readonly lastError = new Map<string, string>();
  private config!: Config;
  private families = new Map<string, readonly string[]>();
  private wanted = new Set<string>();
  private readonly askedFor = new Map<string, number>();
  private followUp: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly gate: KeyedLock,
    private readonly recorder: Recorder,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Asks for a sync of these lists on every target. */
    private readonly wantSync: (lists: string[]) => void,
    private readonly held: (changes: readonly Change[], at: Date) => void = () => undefined,
  ) {}

  /** The targets and lists of a (new) configuration; `holdTargets` are those answers wait for. */
  async configure(config: Config, holdTargets: readonly string[]): Promise<void> {
    const adapters = new Map<string, Adapter>();
    for (const name of holdTargets) {
      const target = config.targets.get(name) as TargetConfig;
      // An adapter is built for its target's settings: another table or folder needs a new one.
      const kept = this.config && sameTarget(this.config.targets.get(name), target);
      const adapter =
        (kept ? this.adapters.get(name) : undefined) ??
        (await createAdapter(target, { db: this.db, clock: this.clock }));
      if (adapter.add) adapters.set(name, adapter);
    }
    for (const [name, adapter] of this.adapters) if (adapters.get(name) !== adapter) await adapter.close();
    this.adapters = adapters;
    this.config = config;
    this.families = new Map([...config.targets.values()].map((t) => [t.name, traitsOf(t).families]));
    this.known = new Map();
    this.synced(config.targets.keys());
  }

  /** Takes in what the audit log now says these targets hold (after a sync). */
  synced(targets: Iterable<string>): void {
    // One read per target: the audit log's account of every list on it.
    const read = stmt(this.db, 'SELECT list, address FROM applied WHERE target = ?');
    for (const name of targets) {
      const target = this.config.targets.get(name);
      if (!target) continue;
      const lists = new Map([...target.lists.keys()].map((l) => [l, new Set<string>()]));
      for (const r of read.all(name) as { list: string; address: string }[])
        lists.get(r.list)?.add(r.address);
      this.known.set(name, lists);
    }
  }

  /**
   * The additions an answer waits for, undefined when none: each address a list takes from it
   * that a hold target holding the list lacks. A target that cannot hold answers and lacks one
   * gets a sync of the list soon.
   */
  admit(learning: Learning): Addition[] | undefined {
    const { family, client } = learning;
    const seen = new Set<string>();
    let waits: Addition[] | undefined;
    for (const { list: name, name: taught } of learning.matches) {
      if (seen.has(name)) continue;
      seen.add(name);
      const list = this.config.lists.get(name) as ListConfig | undefined;
      if (!list) continue;
      const fresh = freshEntries(list, family, learning.addresses);
      if (fresh.length === 0) continue;
      for (const target of this.config.targets.values()) {
        const remote = target.lists.get(name);
        if (remote === undefined || !this.families.get(target.name)?.includes(family)) continue;
        const held = this.known.get(target.name)?.get(name);
        const missing = fresh.filter((a) => !held?.has(a));
        if (missing.length === 0) continue;
        if (!this.adapters.has(target.name)) {
          if (missing.some((a) => this.notAskedLately(`${target.name} ${name} ${a}`))) this.want(name);
          continue;
        }
        for (const address of missing)
          (waits ??= []).push(this.addition(target.name, { list: name, remote }, address, taught, client));
      }
    }
    return waits;
  }

  private addition(target: string, ref: ListRef, address: string, name: string, client: string): Addition {
    const k = key(ref.list, address);
    const existing = this.inFlight.get(target)?.get(k) ?? this.queued.get(target)?.get(k);
    if (existing) {
      if (!existing.change.names.includes(name))
        existing.change.names = [...existing.change.names, name].sort();
      return existing;
    }
    let settle!: (ok: boolean) => void;
    const addition: Addition = {
      target,
      ref,
      change: {
        target,
        list: ref.list,
        action: 'added',
        address,
        names: [name],
        reason: 'dns',
        detail: `learned from the answer forwarded to ${client}`,
      },
      done: new Promise<void>((resolve) => {
        settle = (ok) => {
          if (addition.settled) return;
          addition.settled = true;
          addition.ok = ok;
          resolve();
        };
      }),
      settled: false,
      ok: false,
      settle: (ok) => settle(ok),
      released: false,
      client,
    };
    let queue = this.queued.get(target);
    if (!queue) this.queued.set(target, (queue = new Map()));
    queue.set(k, addition);
    this.schedule(target);
    return addition;
  }

  private schedule(target: string): void {
    if (this.scheduled.has(target) || this.closed) return;
    this.scheduled.add(target);
    // Everything the event loop takes in this turn (a burst of answers) goes in one transaction.
    setImmediate(() => {
      this.scheduled.delete(target);
      void this.run(target);
    });
  }

  /**
   * One transaction with what is queued for the target, unless one is under way: what queues
   * meanwhile goes in the next, started when it ends. Two at once were slower, not faster: nft
   * reads the whole of a set with `flags interval` before it adds to it (nft 1.0.6: about 7 ms of
   * CPU per 1,000 elements), and two such reads compete for the same cores (docs/benchmarks.md,
   * section 8). The target is taken per transaction, so that a sync waiting for it comes next.
   */
  private async run(target: string): Promise<void> {
    const batch = this.queued.get(target);
    if (!batch || batch.size === 0 || this.running.has(target) || this.closed) return;
    this.queued.delete(target);
    this.running.add(target);
    this.inFlight.set(target, batch);
    const release = await this.gate.acquire(target);
    try {
      await this.transaction(target, batch);
    } finally {
      release();
      this.inFlight.delete(target);
      this.running.delete(target);
      if ((this.queued.get(target)?.size ?? 0) > 0) this.schedule(target);
    }
  }

  private async transaction(target: string, batch: Map<string, Addition>): Promise<void> {
    const startedAt = this.clock();
    // A sync may have put some of them there while this waited for the target: those are done.
    const recorded = stmt(this.db, 'SELECT 1 FROM applied WHERE target = ? AND list = ? AND address = ?');
    const todo = [...batch.values()].filter((a) => {
      if (!recorded.get(target, a.ref.list, a.change.address)) return true;
      this.holds(target, a.ref.list, a.change.address);
      a.settle(true);
      return false;
    });
    if (todo.length === 0) return;
    const byList = new Map<string, Additions>();
    for (const a of todo) {
      const entry = byList.get(a.ref.list) ?? { ref: a.ref, add: [] };
      entry.add.push(a.change);
      byList.set(a.ref.list, entry);
    }
    let result: ApplyResult;
    const started = performance.now();
    try {
      result = await (this.adapters.get(target) as Adapter & Required<Pick<Adapter, 'add'>>).add([
        ...byList.values(),
      ]);
    } catch (err) {
      result = { applied: [], done: [], error: errorMessage(err) };
    }
    this.log.debug(
      `forward: target ${target}: ${todo.length} addition(s) in ${(performance.now() - started).toFixed(1)} ms${result.error ? ' (failed)' : ''}`,
    );
    const confirmed = new Set(result.applied.map((c) => key(c.list, c.address)));
    for (const a of todo) {
      const ok = confirmed.has(key(a.ref.list, a.change.address));
      if (ok) this.holds(target, a.ref.list, a.change.address);
      else this.want(a.ref.list);
      a.settle(ok);
    }
    this.report(target, result.error);
    // The answers waiting for these go out first; then the database write.
    await new Promise((resolve) => setImmediate(resolve));
    if (result.applied.length === 0) return;
    // Said as it happened, for the audit log: whether the client had the address before the firewall.
    const byKey = new Map(todo.map((a) => [key(a.ref.list, a.change.address), a]));
    for (const c of result.applied) {
      const a = byKey.get(key(c.list, c.address));
      if (a)
        c.detail = `learned from the answer forwarded to ${a.client}, ${a.released ? 'which went out before the target had it' : 'which waited for it'}`;
    }
    const finishedAt = this.clock();
    this.recorder.held(target, result.applied, startedAt, finishedAt);
    this.held(result.applied, finishedAt);
  }

  private holds(target: string, list: string, address: string): void {
    let lists = this.known.get(target);
    if (!lists) this.known.set(target, (lists = new Map()));
    let held = lists.get(list);
    if (!held) lists.set(list, (held = new Set()));
    held.add(address);
  }

  /** A target's failure, said when it starts or changes, and its recovery. */
  private report(target: string, error: string | undefined): void {
    const before = this.lastError.get(target);
    if (error === before) return;
    if (error) {
      this.lastError.set(target, error);
      this.log.error(
        `forward: target ${target}: ${error}; answers wait no longer than the hold, the next sync retries`,
      );
    } else {
      this.lastError.delete(target);
      this.log.info(`forward: target ${target} takes held additions again`);
    }
  }

  /**
   * Whether no sync was asked for lately to bring this address to a target that cannot hold
   * answers: a target that fails must not make every answer ask for another sync.
   */
  private notAskedLately(key: string): boolean {
    const now = Date.now();
    const last = this.askedFor.get(key);
    if (last !== undefined && now - last < ASK_AGAIN_MS) return false;
    if (this.askedFor.size >= 10_000) {
      for (const [k, at] of this.askedFor) if (now - at >= ASK_AGAIN_MS) this.askedFor.delete(k);
      // All recent: forgetting them costs at most a sync asked for again.
      if (this.askedFor.size >= 10_000) this.askedFor.clear();
    }
    this.askedFor.set(key, now);
    return true;
  }

  private want(list: string): void {
    this.wanted.add(list);
    this.followUp ??= setTimeout(() => {
      this.followUp = undefined;
      const lists = [...this.wanted];
      this.wanted = new Set();
      // The answers first, so that the sync finds them.
      this.recorder.flush();
      if (!this.closed) this.wantSync(lists);
    }, FOLLOW_UP_MS);
  }

  /** Waits for the transactions under way; what is queued is left to the next sync. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.followUp) clearTimeout(this.followUp);
    for (const queue of this.queued.values()) for (const a of queue.values()) a.settle(false);
    this.queued.clear();
    while (this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const adapter of this.adapters.values()) await adapter.close();
  }
}
