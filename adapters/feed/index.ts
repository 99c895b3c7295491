import { z } from 'zod';
import type { TargetConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { TargetType } from '../types.js';

export type FeedTarget = TargetConfig<Record<string, never>>;

/** The URL path a list of a feed target is published at, by `dnsfence serve`. */
export const feedPath = (target: string, remote: string, suffix = '.txt') =>
  `/feeds/${target}/${remote}${suffix}`;

/**
 * Lists published over HTTP for firewalls that poll a URL (Palo Alto EDLs, FortiGate threat
 * feeds, …): a push stores each list's content in the database, `dnsfence serve` answers it.
 */
export const feed: TargetType<Record<string, never>> = {
  type: 'feed',
  schema: z.object({}),
  settings() {
    return {};
  },
  describe(target) {
    return {
      families: ['ipv4', 'ipv6'],
      summary: `feeds at ${feedPath(target.name, '<list>')}, answered by dnsfence serve`,
      // Reading it is a query of the database the sync has open anyway.
      local: true,
      writes: [],
      capabilities: [],
      // Its consumers poll at their own pace: an answer waiting for it would gain them nothing.
      hold: false,
    };
  },
  rules(target) {
    throw new ConfigError(
      `--target ${target.name}: a feed target has no rules; the firewalls that poll ${feedPath(target.name, '<list>')} use its lists (docs/feeds.md shows how to set each up)`,
    );
  },
  async create(target, env) {
    const { FeedAdapter } = await import('./adapter.js');
    return new FeedAdapter(target, env);
  },
};
