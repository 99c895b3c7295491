import { basename } from 'node:path';
import type { z } from 'zod';
import type { Family } from '../../src/address.js';
import type { TargetSettingsContext } from '../../src/config/types.js';
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
    if (typeof own.nft === 'string' && /\s/.test(own.nft.trim()))
      at.warn(
        `${at.key}.nft: ${JSON.stringify(own.nft)} is one program name; to pass arguments write a list: [${own.nft.trim().split(/\s+/).join(', ')}]`,
      );
    if (family !== 'inet') warnOtherFamily(familiesOf(family)[0] as Family, at);
    return {
      family,
      table: own.table ?? 'dnsfence',
      nft: Array.isArray(own.nft) ? own.nft : [own.nft ?? 'nft'],
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
    };
  },
  rules: nftRules,
  async create(target) {
    const { NftablesAdapter } = await import('./adapter.js');
    return new NftablesAdapter(target);
  },
};

/** A list that asks for the family this table cannot hold: said once, not dropped silently. */
function warnOtherFamily(holds: Family, at: TargetSettingsContext): void {
  const other: Family = holds === 'ipv4' ? 'ipv6' : 'ipv4';
  for (const list of at.lists) {
    const statics = list.static.filter((a) => a.family === other).map((a) => a.text);
    const asks = list.names.length > 0 && list.families.includes(other);
    if (!asks && statics.length === 0) continue;
    const what = [
      ...(asks ? [`${other === 'ipv6' ? 'AAAA' : 'A'} answers`] : []),
      ...(statics.length > 0 ? [`static ${statics.join(', ')}`] : []),
    ].join(' and ');
    at.warn(
      `${at.key}: holds ${holds === 'ipv4' ? 'IPv4' : 'IPv6'} only; list ${list.name}'s ${what} will not reach it` +
        ` (set families: [${holds}] on the list, or family: inet on the target)`,
    );
  }
}
