import { metricWriter } from '../report/metrics.js';
import type { Fetch } from './fetch-log.js';

/**
 * Feed fetches counted since serve started, for /metrics: per file and answer, and per consumer
 * (client and user) of the fetches that got the list or were told they hold it. Consumers are
 * counted only once they were let in, so a scan from outside `clients` adds no label values.
 */
export class FeedCounters {
  private readonly byStatus = new Map<string, { target: string; file: string; status: string; n: number }>();
  private readonly byConsumer = new Map<
    string,
    { target: string; file: string; client: string; user: string; n: number; last: number }
  >();

  count(f: Fetch, at: number): void {
    const key = `${f.target}\u0000${f.file}\u0000${f.status}`;
    const s = this.byStatus.get(key);
    if (s) s.n += 1;
    else this.byStatus.set(key, { target: f.target, file: f.file, status: String(f.status), n: 1 });
    if (f.status !== 200 && f.status !== 304) return;
    const ckey = `${f.target}\u0000${f.file}\u0000${f.client}\u0000${f.user ?? ''}`;
    const c = this.byConsumer.get(ckey);
    if (c) {
      c.n += 1;
      c.last = at;
    } else
      this.byConsumer.set(ckey, {
        target: f.target,
        file: f.file,
        client: f.client,
        user: f.user ?? '',
        n: 1,
        last: at,
      });
  }

  render(): string {
    const out: string[] = [];
    const metric = metricWriter(out);
    metric(
      'dnsfence_feed_fetches_total',
      'counter',
      'Requests for feed files since serve started, per file and HTTP status.',
      [...this.byStatus.values()].map((s) => [{ target: s.target, file: s.file, status: s.status }, s.n]),
    );
    const consumers = [...this.byConsumer.values()];
    metric(
      'dnsfence_feed_consumer_fetches_total',
      'counter',
      'Fetches that got a feed file (200) or were told they hold it (304), per client and user.',
      consumers.map((c) => [{ target: c.target, file: c.file, client: c.client, user: c.user }, c.n]),
    );
    metric(
      'dnsfence_feed_consumer_last_fetch_timestamp_seconds',
      'gauge',
      'When each client last fetched a feed file (200 or 304).',
      consumers.map((c) => [
        { target: c.target, file: c.file, client: c.client, user: c.user },
        (c.last / 1000).toFixed(3),
      ]),
    );
    return `${out.join('\n')}\n`;
  }
}
