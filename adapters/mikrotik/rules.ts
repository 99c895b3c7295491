import type { Family } from '../../src/address.js';
import { sourcesOf } from '../rule-sources.js';
import type { RulesInput } from '../types.js';

/** RouterOS filter rules using the address lists. */
export function routerosRules(input: RulesInput): string[] {
  const out = [
    '# RouterOS filter rules using the address lists dnsfence keeps; dnsfence never installs them.',
    '# Place them above the rule that drops forwarded traffic (check with /ip firewall filter print).',
  ];
  for (const s of input.lists) {
    for (const fam of ['ipv4', 'ipv6'] as Family[]) {
      const srcs = sourcesOf(input.sources, fam);
      if (srcs?.length === 0) continue;
      const menu = fam === 'ipv4' ? '/ip firewall filter' : '/ipv6 firewall filter';
      for (const p of s.ports.length > 0 ? s.ports : [undefined]) {
        const proto = p ? ` protocol=${p.protocol === 'icmp' && fam === 'ipv6' ? 'icmpv6' : p.protocol}` : '';
        const port = p && p.protocol !== 'icmp' ? ` dst-port=${p.ports}` : '';
        // src-address takes one address or prefix: one rule per source.
        for (const src of srcs ?? [undefined])
          out.push(
            `${menu} add chain=forward action=accept${src ? ` src-address=${src}` : ''} dst-address-list=${s.remote}${proto}${port} comment="dnsfence ${s.list}: ${s.purpose.split(';')[0]}"`,
          );
      }
    }
  }
  return out;
}
