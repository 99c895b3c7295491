import type { Family } from '../../src/address.js';
import type { PortSpec } from '../../src/config/profiles.js';
import { sourcesOf } from '../rule-sources.js';
import type { RulesInput } from '../types.js';
import { setName, type IpsetTarget } from './settings.js';

/** iptables and ip6tables commands that match the sets (`-m set --match-set <set> dst`). */
export function ipsetRules(target: IpsetTarget, input: RulesInput): string[] {
  const { prefix, families } = target.settings;
  const out = [
    '# iptables/ip6tables rules using the ipsets dnsfence keeps; dnsfence never installs them.',
    '# FORWARD filters what passes through this host; use OUTPUT for the host itself, DOCKER-USER for containers.',
    '# Put them before the rule that drops (iptables -I FORWARD <n> …, or in /etc/iptables/rules.v4 and rules.v6).',
  ];
  for (const s of input.lists) {
    out.push(`# ${s.list}: ${s.purpose}`);
    for (const family of families) {
      const srcs = sourcesOf(input.sources, family);
      if (srcs?.length === 0) continue;
      const command = family === 'ipv4' ? 'iptables' : 'ip6tables';
      const source = srcs ? ` -s ${srcs.join(',')}` : '';
      const set = `-m set --match-set ${setName(prefix, s.remote, family)} dst`;
      const matches = s.ports.length > 0 ? s.ports.map((p) => portMatch(p, family)) : [''];
      for (const m of matches) out.push(`${command} -A FORWARD${source}${m ? ` ${m}` : ''} ${set} -j ACCEPT`);
    }
  }
  return out;
}

function portMatch(p: PortSpec, family: Family): string {
  if (p.protocol === 'icmp')
    return family === 'ipv4' ? `-p icmp --icmp-type ${p.ports}` : `-p ipv6-icmp --icmpv6-type ${p.ports}`;
  const ports = p.ports.replace('-', ':');
  return ports.includes(',')
    ? `-p ${p.protocol} -m multiport --dports ${ports}`
    : `-p ${p.protocol} --dport ${ports}`;
}
