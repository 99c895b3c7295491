import type { z } from 'zod';
import type { TargetType } from '../types.js';
import { opnsenseRules } from './rules.js';
import { schema, type OpnsenseSettings } from './settings.js';

/** OPNsense firewall aliases over its REST API: one host alias per list. */
export const opnsense: TargetType<OpnsenseSettings> = {
  type: 'opnsense',
  schema,
  settings(raw, at) {
    const own = raw as z.output<typeof schema>;
    const key = at.secret('key', false);
    const secret = at.secret('secret', false);
    if (!own.api_key_file && !(key && secret))
      at.fail([], 'api_key_file, or key_env/key_file together with secret_env/secret_file, is required');
    return {
      url: own.url.replace(/\/+$/, ''),
      tls: at.tls(own.tls, 'tls'),
      adopt: own.adopt ?? false,
      ...(own.api_key_file ? { apiKeyFile: at.path(own.api_key_file) } : {}),
      ...(key ? { key } : {}),
      ...(secret ? { secret } : {}),
    };
  },
  describe(target) {
    return {
      families: ['ipv4', 'ipv6'],
      summary: `OPNsense ${target.settings.url}`,
      local: false,
      writes: [],
      capabilities: [],
      hold: false,
    };
  },
  rules: (_target, input) => opnsenseRules(input),
  async create(target) {
    const { OpnsenseAdapter } = await import('./adapter.js');
    return new OpnsenseAdapter(target);
  },
};
