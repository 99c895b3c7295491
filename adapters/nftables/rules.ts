import type { PortSpec } from '../../src/config/profiles.js';
import { sourcesOf } from '../rule-sources.js';
import type { RulesInput } from '../types.js';
import { familiesOf, type NftablesTarget } from './settings.js';

/** nft rules that use the sets, for a chain in the sets' own table (a rule can use no other table's sets). */
export function nftRules(target: NftablesTarget, input: RulesInput): string[] {
  const { family, table } = target.settings;
  const out = [
    `# Rules using the sets dnsfence keeps in table ${family} ${table}; dnsfence never installs them.`,
    `# A rule can only use sets of its own table: put them in a chain of that table, e.g.`,
    `#   add chain ${family} ${table} forward { type filter hook forward priority filter; }`,
  ];
  for (const s of input.lists) {
    out.push(`# ${s.list}: ${s.purpose}`);
    for (const fam of familiesOf(family)) {
      const ip = fam === 'ipv4' ? 'ip' : 'ip6';
      const srcs = sourcesOf(input.sources, fam);
      if (srcs?.length === 0) continue;
      const saddr = !srcs ? '' : `${ip} saddr ${srcs.length === 1 ? srcs[0] : `{ ${srcs.join(', ')} }`} `;
      const set = `@${s.remote}_${fam === 'ipv4' ? 'v4' : 'v6'}`;
      const matches = s.ports.length > 0 ? s.ports.map(portMatch) : [''];
      for (const m of matches)
        out.push(`add rule ${family} ${table} forward ${saddr}${ip} daddr ${set}${m ? ` ${m}` : ''} accept`);
    }
  }
  return out;
}

function portMatch(p: PortSpec): string {
  if (p.protocol === 'icmp') return 'icmp type echo-request';
  return `${p.protocol} dport ${p.ports}`;
}
