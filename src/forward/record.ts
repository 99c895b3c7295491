import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Change } from '../model/change.js';
import type { LookupResult } from '../resolver/types.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { recordAsked, type Asked } from '../store/learned.js';
import { lookupRecorder } from '../store/observations.js';
import { recordPush, recordRun } from '../store/runs.js';

/** How often what the forwarder learned is written, when no held addition writes it sooner. */
const FLUSH_MS = 1000;

/**
 * An answer the same as the one recorded for its name less than this ago is not recorded again,
 * nor is a learned name's query: presence and retention count in hours, and a name asked a
 * thousand times a second must not cost a thousand writes (docs/benchmarks.md, section 8).
 */
const RECORD_AGAIN_MS = 60_000;

/** Names whose last recording is remembered; beyond, the memory starts over (a few more writes). */
const REMEMBERED = 100_000;

/**
 * What the forwarder writes to the database: the answers it learned from (observations, as a
 * lookup records them), the names it learned and when they were asked, and what hold targets
 * confirmed (a run of its own, audited). Answers are collected and written together, a name once
 * per write however often it was asked; held additions are written as soon as they are confirmed.
 *
 * Nothing here waits for the disk (synchronous = NORMAL: the database is in WAL mode); the
 * collected writes of each second end with a commit that does (FULL), which makes every commit
 * before it durable too. An fsync per held transaction cost 2-3 ms during which the event loop
 * answered nobody (docs/benchmarks.md, section 8). A power loss can take back at most the last
 * second's records: the next sync then finds those additions on the target and records them.
 */
export class Recorder {
  private observations = new Map<string, { result: LookupResult; at: Date }>();
  private asks = new Map<string, Asked>();
  private readonly timer: NodeJS.Timeout;
  private failing = false;
  /** Commits made since the last one that waited for the disk. */
  private undurable = false;
  /** What was recorded last per name and family (its answer) or list and name (its query), and when. */
  private readonly lastAnswer = new Map<string, { answer: string; at: number }>();
  private readonly lastAsked = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly configHash: () => string,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.flush(), FLUSH_MS).unref();
  }

  observe(result: LookupResult, at: Date): void {
    const key = `${result.name}|${result.family}`;
    const last = this.lastAnswer.get(key);
    const now = at.getTime();
    const answer = fingerprint(result);
    if (last && last.answer === answer && now - last.at >= 0 && now - last.at < RECORD_AGAIN_MS) return;
    if (this.lastAnswer.size >= REMEMBERED) this.lastAnswer.clear();
    this.lastAnswer.set(key, { answer, at: now });
    this.observations.set(key, { result, at });
  }

  /** A query for a learned name, through a list entry, from a client; `isNew`: it is learned now. */
  asked(list: string, name: string, entry: string, client: string, at: Date, isNew: boolean): void {
    const key = `${list}|${name}`;
    const now = at.getTime();
    const last = this.lastAsked.get(key);
    if (!isNew && last !== undefined && now - last >= 0 && now - last < RECORD_AGAIN_MS) return;
    if (this.lastAsked.size >= REMEMBERED) this.lastAsked.clear();
    this.lastAsked.set(key, now);
    this.asks.set(key, { list, name, entry, client, at: at.toISOString() });
  }

  /** Writes what is collected, and makes it durable with every commit before it. */
  flush(): void {
    const collected = this.observations.size + this.asks.size > 0;
    if (collected) this.write('FULL', () => this.writeCollected());
    else if (this.undurable) this.write('FULL', () => this.touch());
  }

  /**
   * Records, with everything collected, the additions a hold target confirmed: a run of the
   * forwarder's own with the target's push, and each addition in the audit log.
   */
  held(target: string, changes: Change[], startedAt: Date, finishedAt: Date): void {
    this.write('NORMAL', () => {
      this.writeCollected();
      if (changes.length === 0) return;
      const summary = `${changes.length} change(s) held for forwarded answers`;
      const runId = recordRun(this.db, {
        command: 'forward',
        configHash: this.configHash(),
        startedAt,
        finishedAt,
        outcome: 'ok',
        exitCode: 0,
        summary,
      });
      appendAudit(this.db, runId, finishedAt, changes);
      this.lastRun = runId;
      recordPush(this.db, {
        run_id: runId,
        target,
        at: finishedAt.toISOString(),
        outcome: 'ok',
        added: changes.length,
        removed: 0,
        detail: null,
      });
    });
  }

  private lastRun: number | undefined;

  /**
   * A write with nothing new to say, so that the commit it makes waits for the disk, and with it
   * every commit before it (one fsync of the write-ahead log makes all of it durable).
   */
  private touch(): void {
    if (this.lastRun !== undefined)
      this.db.prepare('UPDATE runs SET summary = summary WHERE id = ?').run(this.lastRun);
  }

  private writeCollected(): void {
    const observations = [...this.observations.values()];
    const asks = [...this.asks.values()];
    this.observations = new Map();
    this.asks = new Map();
    const recorder = lookupRecorder(this.db);
    for (const o of observations) recorder.record(o.result, o.at);
    recordAsked(this.db, asks);
  }

  /** One transaction; a failure (a full disk) is said once and forwarding goes on. */
  private write(synchronous: 'NORMAL' | 'FULL', work: () => void): void {
    const own = this.db.pragma('synchronous', { simple: true }) as number;
    try {
      if (synchronous === 'NORMAL') this.db.pragma('synchronous = NORMAL');
      else this.db.pragma('synchronous = FULL');
      this.db.transaction(work)();
      this.undurable = synchronous === 'NORMAL';
      if (this.failing) this.log.info('forward: the database takes what was learned again');
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.log.error(
          `forward: cannot record what was learned (${errorMessage(err)}); answering goes on, the next sync reconciles the targets`,
        );
      this.failing = true;
    } finally {
      this.db.pragma(`synchronous = ${own}`);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

/** An answer's addresses and chain, to tell an answer the same as the last from a changed one. */
function fingerprint(result: LookupResult): string {
  let text = result.chain.length > 1 ? result.chain.join('>') : '';
  for (const a of result.addresses) text += ` ${a.address}`;
  return text;
}
