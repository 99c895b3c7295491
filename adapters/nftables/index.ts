import { basename } from 'node:path';
import type { z } from 'zod';
import { argvSetting } from '../../src/config/argv.js';
import { warnFamilyNotHeld } from '../families.js';
import type { TargetType } from '../types.js';
import { nftRules } from './rules.js';
import { familiesOf, schema, type NftablesSettings } from './settings.js';

/** Programs that run the command on another machine. */
const REMOTE = new Set(['ssh', 'sshpass', 'dbclient']);

/** Linux nftables named sets `<list>_v4` / `<list>_v6` in a table of the admin's; rules are never touched. */
export const nftables: TargetType<NftablesSettings> = {
  type: 'nftables',
  schema,
  settings(raw, at) {
    const own = raw as z.output<typeof schema>;
    const family = own.family ?? 'inet';
    if (family !== 'inet') warnFamilyNotHeld(familiesOf(family), at, 'family: inet on the target');
    return {
      family,
      table: own.table ?? 'dnsfence',
      nft: argvSetting(own.nft, 'nft', 'nft', at),
    };
  },
  describe(target) {
    const { family, table, nft } = target.settings;
    const via = nft.join(' ');
    return {
      families: familiesOf(family),
      summary: `table ${family} ${table}${via === 'nft' ? '' : ` via ${via}`}`,
      local: true,
      writes: [],
      // nft run on this host (directly, or through a wrapper such as ip netns exec) needs
      // CAP_NET_ADMIN; one reached over ssh needs nothing here.
      capabilities: REMOTE.has(basename(nft[0] ?? '')) ? [] : ['CAP_NET_ADMIN'],
      hold: true,
    };
  },
  rules: nftRules,
  async create(target) {
    const { NftablesAdapter } = await import('./adapter.js');
    return new NftablesAdapter(target);
  },
};
