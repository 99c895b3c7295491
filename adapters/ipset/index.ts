import { basename } from 'node:path';
import type { z } from 'zod';
import { argvSetting } from '../../src/config/argv.js';
import { warnFamilyNotHeld } from '../families.js';
import type { TargetType } from '../types.js';
import { ipsetRules } from './rules.js';
import { DEFAULT_MAXELEM, MAX_NAME, schema, setName, type IpsetSettings } from './settings.js';

/** ipset hash:net sets `<prefix><list>_v4` / `_v6` for iptables hosts; rules are never touched. */
export const ipset: TargetType<IpsetSettings> = {
  type: 'ipset',
  schema,
  settings(raw, at) {
    const own = raw as z.output<typeof schema>;
    const command = argvSetting(own.ipset, 'ipset', 'ipset', at);
    const prefix = own.prefix ?? '';
    const families = own.families ?? ['ipv4', 'ipv6'];
    for (const [list, remote] of at.remotes) {
      const longest = setName(prefix, remote, 'ipv4');
      if (longest.length > MAX_NAME)
        at.fail(
          prefix ? 'prefix' : 'lists',
          `set name ${longest} (list ${list}) is ${longest.length} characters; ipset allows ${MAX_NAME}: ` +
            `${prefix ? 'shorten the prefix, or ' : ''}give the list a shorter name on this target (lists: {${list}: short})`,
        );
    }
    if (families.length < 2) warnFamilyNotHeld(families, at, 'families: [ipv4, ipv6] on the target');
    return {
      ipset: command,
      prefix,
      families: [...new Set(families)].sort(),
      maxelem: own.maxelem ?? DEFAULT_MAXELEM,
    };
  },
  describe(target) {
    const { ipset: command, prefix, families } = target.settings;
    const via = command.join(' ');
    const program = basename(command[0] ?? '');
    return {
      families,
      summary: `ipset sets ${prefix}<list>_${families.map((f) => (f === 'ipv4' ? 'v4' : 'v6')).join('/')}${via === 'ipset' ? '' : ` via ${via}`}`,
      // A host reached over ssh is read after DNS, as fresh as possible, like any network target.
      local: program !== 'ssh',
      writes: [],
      capabilities: program === 'ipset' ? ['CAP_NET_ADMIN'] : [],
      hold: true,
    };
  },
  rules: ipsetRules,
  async create(target) {
    const { IpsetAdapter } = await import('./adapter.js');
    return new IpsetAdapter(target);
  },
};
