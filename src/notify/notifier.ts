import { hostname } from 'node:os';
import type { Config } from '../config/types.js';
import type { NotifyEntry } from '../config/notify.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { recordDelivery } from '../store/notifications.js';
import { previousOutcome } from '../store/runs.js';
import type { SyncResult } from '../sync/engine.js';
import type { Clock } from '../time.js';
import { deliver, type DeliveryResult } from './deliver.js';
import { runEvents, testEvent, type Notification } from './events.js';

export interface NotifyContext {
  db: Db;
  log: Logger;
  clock: Clock;
}

export interface EntryResult extends DeliveryResult {
  entry: string;
}

/** Sends each entry its notification, all at once, and records each delivery. Never throws. */
async function send(
  ctx: NotifyContext,
  entries: { entry: NotifyEntry; notification: Notification }[],
): Promise<EntryResult[]> {
  const host = hostname();
  return Promise.all(
    entries.map(async ({ entry, notification }): Promise<EntryResult> => {
      const result = await deliver(entry, notification, { host });
      for (const w of result.warnings) ctx.log.warn(w);
      try {
        recordDelivery(ctx.db, {
          run_id: notification.run,
          at: ctx.clock().toISOString(),
          entry: entry.label,
          events: [...new Set(notification.events.map((e) => e.event))],
          outcome: result.ok ? 'delivered' : 'failed',
          tries: result.tries,
          detail: result.detail ?? null,
        });
      } catch (err) {
        ctx.log.warn(`${entry.label}: delivery not recorded: ${(err as Error).message}`);
      }
      if (result.ok) ctx.log.debug(`${entry.label}: delivered`);
      return { entry: entry.label, ...result };
    }),
  );
}

/**
 * After a run is recorded: its events, one notification per entry holding those it listens to.
 * A failed delivery is a warning, never the run's failure.
 */
export async function notifyRun(ctx: NotifyContext, config: Config, result: SyncResult): Promise<void> {
  if (result.runId === undefined || config.notify.length === 0) return;
  let events;
  try {
    events = runEvents(result, previousOutcome(ctx.db, result.runId));
  } catch (err) {
    ctx.log.warn(`notifications of run ${result.runId} not sent: ${(err as Error).message}`);
    return;
  }
  const entries = config.notify.flatMap((entry) => {
    const mine = events.filter((e) => e.event !== 'test' && entry.events.includes(e.event));
    return mine.length === 0
      ? []
      : [{ entry, notification: { run: result.runId!, time: result.finishedAt, events: mine } }];
  });
  for (const r of await send(ctx, entries))
    if (!r.ok)
      ctx.log.warn(
        `${r.entry}: notification not delivered after ${r.tries} ${r.tries === 1 ? 'try' : 'tries'}: ${r.detail ?? 'unknown error'} (the run's result stands)`,
      );
}

/** `notify test`: a test event to every entry, whatever events it listens to. */
export function notifyTest(ctx: NotifyContext, config: Config): Promise<EntryResult[]> {
  const notification: Notification = {
    run: null,
    time: ctx.clock().toISOString(),
    events: [testEvent(hostname())],
  };
  return send(
    ctx,
    config.notify.map((entry) => ({ entry, notification })),
  );
}

/**
 * For `watch`: sends each sync's notification without holding up the next sync, and lets the
 * watch wait for those still under way before it closes the database.
 */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: NotifyContext) {}

  afterRun(config: Config, result: SyncResult): void {
    const sending = notifyRun(this.ctx, config, result).finally(() => this.pending.delete(sending));
    this.pending.add(sending);
  }

  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
