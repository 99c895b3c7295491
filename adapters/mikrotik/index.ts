import type { z } from 'zod';
import type { TargetType } from '../types.js';
import { routerosRules } from './rules.js';
import { schema, type MikrotikSettings } from './settings.js';

/** MikroTik RouterOS address lists over the API (plain or API-SSL). */
export const mikrotik: TargetType<MikrotikSettings> = {
  type: 'mikrotik',
  schema,
  settings(raw, at) {
    const own = raw as z.output<typeof schema>;
    const tls =
      own.tls === undefined || own.tls === false ? false : at.tls(own.tls === true ? {} : own.tls, 'tls');
    return {
      host: own.host,
      port: own.port ?? (tls ? 8729 : 8728),
      tls,
      username: own.username,
      password: at.secret('password', true)!,
    };
  },
  describe(target) {
    const { host, port, tls } = target.settings;
    return {
      families: ['ipv4', 'ipv6'],
      summary: `RouterOS ${host}:${port}${tls ? ' (API-SSL)' : ''}`,
      local: false,
      writes: [],
      capabilities: [],
      hold: false,
    };
  },
  rules: (_target, input) => routerosRules(input),
  async create(target) {
    const { MikrotikAdapter } = await import('./adapter.js');
    return new MikrotikAdapter(target);
  },
};
