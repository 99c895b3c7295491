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

  constructor(
    private config: Config,
    private readonly db: Db,
    private readonly options: WatchOptions,
  ) {
    this.reschedule();
  }

  private reschedule(): void {
    const now = this.options.clock().getTime();
    const next = new Map<string, Slot>();
    for (const q of questionsOf(this.config.lists.values())) {
      const key = `${q.name}|${q.family}`;
      next.set(key, this.slots.get(key) ?? { ...q, due: now, failures: 0, last: undefined });
    }
    this.slots = next;
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
      this.reschedule();
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
    const base = { command: 'watch', force: false, clock, lookups: [] };
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
          : [...this.config.lists.values()]
              .filter((l) => l.names.some((n) => changedNames.has(n)))
              .map((l) => l.name);
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
