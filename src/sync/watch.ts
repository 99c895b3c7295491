import type { Family } from '../address.js';
import type { Config } from '../config/types.js';
import { isEmpty } from '../planner/target.js';
import type { Logger } from '../log.js';
import { Resolver } from '../resolver/resolver.js';
import { isSuccess, type LookupResult } from '../resolver/types.js';
import type { Db } from '../store/db.js';
import { recordLookups } from '../store/observations.js';
import type { Clock } from '../time.js';
import { runSync, type SyncResult } from './engine.js';
import type { Notice } from './notices.js';
import { questionsOf, resolversOf } from './resolve-all.js';
import { resolvedNamesOf } from '../config/lists.js';
import type { ListConfig } from '../config/types.js';
import type { KeyedLock } from '../keyed-lock.js';
import { withLearned } from '../store/learned.js';

export interface WatchOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Every target is read at least this often, and what was removed there restored. */
  driftIntervalMs: number;
  clock: Clock;
  /**
   * Waits `ms`, or less when `woken` is aborted (a stop, a reload). Real time by default; a test
   * gives one that moves its own clock instead.
   */
  sleep?: (ms: number, woken: AbortSignal) => Promise<void>;
  /** The watch's own events: started, reloaded, stopped. */
  log: Logger;
  /** Returns the new configuration, or throws (the old one is kept). Called on SIGHUP. */
  reload: () => Config;
  /** Hears what the syncs have to say, each thing once per watch while it stays so. */
  onNotice?: (notice: Notice) => void;
  /** Called after every sync, e.g. to print its changes and write metrics. */
  afterSync?: (result: SyncResult) => void;
  /** Shared with the forwarder, which adds held addresses to targets between syncs. */
  gate?: KeyedLock;
}

interface Slot {
  name: string;
  family: Family;
  due: number;
  /** Consecutive failures, for the backoff. */
  failures: number;
  /** The last answer, to notice a change. */
  last: string | undefined;
}

const BACKOFF_START_MS = 5000;

/** When to ask again: at TTL expiry, clamped; failures back off from 5 s, doubling, up to the maximum. */
export function nextDelay(result: LookupResult, failures: number, minMs: number, maxMs: number): number {
  if (!isSuccess(result.outcome)) return Math.min(maxMs, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));
  const ttlMs = (result.ttl ?? maxMs / 1000) * 1000;
  return Math.min(maxMs, Math.max(minMs, ttlMs));
}

function fingerprint(r: LookupResult): string {
  return `${r.outcome}|${r.addresses
    .map((a) => a.address)
    .sort()
    .join(',')}`;
}

/**
 * The long-running loop: every name is asked again when its TTL expires (clamped to the interval
 * bounds); a list is synced as soon as an answer for one of its names changes, every list at least
 * once per maximum interval, and every target is read at least once per drift interval so that a
 * flushed set or a reloaded ruleset is restored and expired addresses leave on time.
 */
export class Watcher {
  private slots = new Map<string, Slot>();
  private stopping = false;
  private woken = new AbortController();
  private pendingReload = false;
  private lastFullSync = 0;
  private lastDriftCheck = 0;
  /** What was said once and stays so: a name without address, a target that cannot be read. */
  private readonly said = new Map<string, string>();
  /** The lists with the names they learned from forwarded answers, as of the last look. */
  private lists: ListConfig[] = [];
  private learnedKey = '';
  /** Lists the forwarder asked to be synced, for the targets that did not get their new addresses yet. */
  private readonly requested = new Set<string>();

  constructor(
    private config: Config,
    private readonly db: Db,
    private readonly options: WatchOptions,
  ) {
    this.refreshLearned(true);
    this.reschedule(true);
  }

  /**
   * Every name to ask for: the configured ones, and those learned within retention of their last
   * query. A name just learned was answered a moment ago: it is asked again after the minimum
   * interval; configured names and, at the start, every name are asked at once.
   */
  private reschedule(initial: boolean): void {
    const now = this.options.clock().getTime();
    const configured = new Set([...this.config.lists.values()].flatMap((l) => l.names));
    const next = new Map<string, Slot>();
    for (const q of questionsOf(this.lists)) {
      const key = `${q.name}|${q.family}`;
      const due = initial || configured.has(q.name) ? now : now + this.options.minIntervalMs;
      next.set(key, this.slots.get(key) ?? { ...q, due, failures: 0, last: undefined });
    }
    this.slots = next;
  }

  /** Takes in names learned or forgotten since the last look; reschedules when they changed. */
  private refreshLearned(initial = false): void {
    this.lists = withLearned(this.db, [...this.config.lists.values()], this.options.clock());
    const key = this.lists.map((l) => (l.learned ?? []).join(',')).join('|');
    if (key === this.learnedKey) return;
    this.learnedKey = key;
    if (!initial) this.reschedule(false);
  }

  /** Syncs these lists soon, on every target: the forwarder learned new addresses for them. */
  requestSync(lists: Iterable<string>): void {
    for (const l of lists) if (this.config.lists.has(l)) this.requested.add(l);
    if (this.requested.size > 0) this.woken.abort();
  }

  stop(): void {
    this.stopping = true;
    this.woken.abort();
  }

  requestReload(): void {
    this.pendingReload = true;
    this.woken.abort();
  }

  private async sleep(ms: number): Promise<void> {
    const woken = this.woken.signal;
    if (!woken.aborted) await (this.options.sleep ?? sleepUnlessWoken)(Math.max(0, ms), woken);
    if (woken.aborted) this.woken = new AbortController();
  }

  private reload(): void {
    this.pendingReload = false;
    try {
      this.config = this.options.reload();
      this.refreshLearned(true);
      this.reschedule(false);
      this.lastFullSync = 0;
      this.lastDriftCheck = 0;
      this.options.log.info(
        `watch: configuration reloaded: ${this.slots.size} lookups, ${this.config.targets.size} target(s)`,
      );
    } catch (err) {
      this.options.log.error(
        `watch: new configuration refused, keeping the old one: ${(err as Error).message}`,
      );
    }
  }

  /**
   * A name without address and a target that cannot be read are said once, and again only after
   * they changed; everything else as it comes.
   */
  private hear(notice: Notice, fromDriftCheck = false): void {
    const key =
      notice.kind === 'no-address'
        ? `name ${notice.name}`
        : notice.kind === 'target-failed' && fromDriftCheck
          ? `target ${notice.target}`
          : undefined;
    if (key) {
      const text = JSON.stringify(notice);
      if (this.said.get(key) === text) return;
      this.said.set(key, text);
    }
    this.options.onNotice?.(notice);
  }

  /**
   * Reads every target and restores what was removed there (a flushed set, a reloaded ruleset),
   * and takes out what has expired meanwhile. A plan first: when nothing drifted, nothing is
   * written, to the targets or to the database.
   */
  private async repairDrift(): Promise<void> {
    const { clock } = this.options;
    const base = { command: 'watch', force: false, clock, lookups: [], gate: this.options.gate };
    const plan = await runSync(this.config, this.db, { ...base, preview: true });
    this.lastDriftCheck = clock().getTime();
    for (const t of plan.targets) {
      if (t.error) this.hear({ kind: 'target-failed', target: t.target, error: t.error }, true);
      else this.said.delete(`target ${t.target}`);
    }
    if (plan.targets.every((t) => !t.plan || isEmpty(t.plan))) return;
    const result = await runSync(this.config, this.db, {
      ...base,
      preview: false,
      onNotice: (n) => this.hear(n),
    });
    this.options.afterSync?.(result);
  }

  /** The lists the forwarder asked for, from what is recorded: it recorded the answers itself. */
  private async syncRequested(): Promise<void> {
    const lists = [...this.requested];
    this.requested.clear();
    const result = await runSync(this.config, this.db, {
      command: 'watch',
      preview: false,
      force: false,
      lists,
      clock: this.options.clock,
      lookups: [],
      onNotice: (n) => this.hear(n),
      gate: this.options.gate,
    });
    this.options.afterSync?.(result);
  }

  async run(): Promise<number> {
    const { log, clock } = this.options;
    log.info(
      `watch: ${this.slots.size} lookups, ${this.config.lists.size} list(s), ${this.config.targets.size} target(s)`,
    );
    let resolver = new Resolver({ servers: resolversOf(this.config), ...this.config.resolve });
    try {
      while (!this.stopping) {
        if (this.pendingReload) {
          this.reload();
          await resolver.close();
          resolver = new Resolver({ servers: resolversOf(this.config), ...this.config.resolve });
        }
        this.refreshLearned();
        if (this.requested.size > 0) {
          await this.syncRequested();
          continue;
        }
        const now = clock().getTime();
        const due = [...this.slots.values()].filter((s) => s.due <= now);
        const fullDue = now - this.lastFullSync >= this.options.maxIntervalMs;
        const driftDue = now - this.lastDriftCheck >= this.options.driftIntervalMs;
        if (due.length === 0 && !fullDue) {
          if (driftDue) {
            await this.repairDrift();
            continue;
          }
          const next = Math.min(
            ...[...this.slots.values()].map((s) => s.due),
            this.lastFullSync + this.options.maxIntervalMs,
            this.lastDriftCheck + this.options.driftIntervalMs,
          );
          await this.sleep(next - now);
          continue;
        }
        const results = await Promise.all(due.map((s) => resolver.lookup(s.name, s.family)));
        const changedNames = new Set<string>();
        const after = clock().getTime();
        results.forEach((r, i) => {
          const slot = due[i] as Slot;
          slot.failures = isSuccess(r.outcome) ? 0 : slot.failures + 1;
          slot.due =
            after + nextDelay(r, slot.failures, this.options.minIntervalMs, this.options.maxIntervalMs);
          const fp = fingerprint(r);
          if (slot.last !== fp) changedNames.add(r.name);
          slot.last = fp;
        });
        const lists = fullDue
          ? [...this.config.lists.keys()]
          : this.lists.filter((l) => resolvedNamesOf(l).some((n) => changedNames.has(n))).map((l) => l.name);
        if (lists.length === 0) {
          // Nothing changed: the answers are still recorded, so history and stale_limit stay right.
          this.db.transaction(() => recordLookups(this.db, results, clock()))();
          continue;
        }
        // A push in flight is finished before a stop takes effect: the loop only checks between syncs.
        const result = await runSync(this.config, this.db, {
          command: 'watch',
          preview: false,
          force: false,
          lists,
          clock,
          lookups: results,
          onNotice: (n) => this.hear(n),
          gate: this.options.gate,
        });
        if (fullDue) this.lastFullSync = after;
        // Every target of these lists was just read and reconciled.
        if (lists.length === this.config.lists.size) this.lastDriftCheck = after;
        this.options.afterSync?.(result);
      }
    } finally {
      await resolver.close();
    }
    log.info('watch: stopped');
    return 0;
  }
}

function sleepUnlessWoken(ms: number, woken: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    woken.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      woken.removeEventListener('abort', done);
      resolve();
    }
  });
}
