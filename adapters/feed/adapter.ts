import { errnoText } from '../../src/errno.js';
import { TargetError } from '../../src/errors.js';
import { feedText } from '../../src/model/feed.js';
import type { Change } from '../../src/model/change.js';
import type { ListRef, ListState, Operation, Snapshot, TargetPlan } from '../../src/planner/target.js';
import { loadFeedContent, publishFeeds } from '../../src/store/feeds.js';
import type { Place } from '../../src/store/placements.js';
import type { Adapter, ApplyResult, TargetEnv } from '../types.js';
import { feedPath, type FeedTarget } from './index.js';

/** What each list publishes now (its `<list>.txt`), by configured list; undefined before its first push. */
type Published = ReadonlyMap<string, string | undefined>;

interface Publish {
  remote: string;
  text: string;
}

const count = (n: number) => `${n} address${n === 1 ? '' : 'es'}`;

/**
 * A feed target: its lists are files `dnsfence serve` answers, kept in the database. Reading it
 * reads what each list publishes; applying a plan stores the new content of every list whose
 * content changed, all in one transaction, so a poller never sees half a push.
 */
export class FeedAdapter implements Adapter<Published> {
  readonly target: string;
  readonly warnings: string[] = [];

  constructor(
    private readonly config: FeedTarget,
    private readonly env: TargetEnv,
  ) {
    this.target = config.name;
  }

  place({ remote }: ListRef): Place {
    const path = feedPath(this.target, remote);
    return {
      location: `feed ${this.target}/${remote}`,
      place: `feed ${path}`,
      // The content stays in the database, unserved: what remains is on the firewalls that polled it.
      removal: `nothing here: dnsfence serve answers 404 for ${path} now; take it out of the firewalls that poll it`,
    };
  }

  async read(lists: readonly ListRef[]): Promise<Snapshot<Published>> {
    let rows;
    try {
      rows = loadFeedContent(
        this.env.db,
        this.target,
        lists.map((l) => l.remote),
      );
    } catch (err) {
      throw new TargetError(this.target, `cannot read what its feeds publish: ${errnoText(err)}`);
    }
    const states = new Map<string, ListState>();
    const published = new Map<string, string | undefined>();
    for (const { list, remote } of lists) {
      const text = rows.get(remote)?.addresses;
      published.set(list, text);
      states.set(list, { owned: new Set(text ? text.split('\n').filter(Boolean) : []) });
    }
    return { lists: states, detail: published, warnings: [] };
  }

  /**
   * A list is published when what it must hold differs from what it publishes, and when it was
   * never published, even empty: a poller then gets an empty list, not a 503.
   */
  operations(snapshot: Snapshot<Published>, plan: TargetPlan<Published>): Operation[] {
    const operations: Operation[] = [];
    for (const l of plan.lists) {
      const text = feedText(l.desired);
      if (snapshot.detail.get(l.list) === text) continue;
      const data: Publish = { remote: l.remote, text };
      operations.push({
        kind: 'publish',
        list: l.list,
        description: `publish ${feedPath(this.target, l.remote)} (${count(l.desired.length)})`,
        data,
      });
    }
    return operations;
  }

  async apply(plan: TargetPlan<Published>): Promise<ApplyResult> {
    const publish = plan.operations.filter((o) => o.kind === 'publish');
    const { db, clock } = this.env;
    try {
      db.transaction(() =>
        publishFeeds(
          db,
          this.target,
          publish.map((o) => {
            const { remote, text } = o.data as Publish;
            return { list: remote, addresses: text };
          }),
          clock(),
        ),
      )();
    } catch (err) {
      return { applied: [], done: [], error: `cannot store what its feeds publish: ${errnoText(err)}` };
    }
    const published = new Set(publish.map((o) => o.list));
    const applied: Change[] = plan.lists
      .filter((l) => published.has(l.list))
      .flatMap((l) => [...l.add, ...l.remove]);
    return { applied, done: publish };
  }

  async check(): Promise<string> {
    const refs = [...this.config.lists].map(([list, remote]) => ({ list, remote }));
    const { detail } = await this.read(refs);
    const published = refs.filter((r) => detail.get(r.list) !== undefined).length;
    return (
      `publishes ${refs.length} list(s) at ${feedPath(this.target, '<list>')} (and .v4.txt, .v6.txt) for dnsfence serve; ` +
      (published === refs.length
        ? 'all published'
        : `${published} published so far, the next sync publishes the others`)
    );
  }

  async close(): Promise<void> {}
}
