import type { RulesInput } from '../types.js';

/** OPNsense pass rules, in the columns of its rule editor. */
export function opnsenseRules(input: RulesInput): string[] {
  const out = [
    '# OPNsense: Firewall > Rules > (interface the host sits behind), pass rules above any block rule.',
    '# action | protocol | source | destination (alias) | destination port | description',
  ];
  for (const s of input.lists) {
    for (const p of s.ports.length > 0 ? s.ports : [undefined]) {
      out.push(
        `pass | ${p ? p.protocol.toUpperCase() : 'any'} | ${input.sources.join(', ') || 'the host'} | ${s.remote} | ${p && p.protocol !== 'icmp' ? p.ports : 'any'} | dnsfence ${s.list}: ${s.purpose.split(';')[0]}`,
      );
    }
  }
  return out;
}
