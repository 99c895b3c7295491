import type { Family } from '../address.js';
import { findProfile, formatPorts, type PortSpec } from '../config/profiles.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';

export interface RuleSpec {
  list: string;
  remote: string;
  ports: PortSpec[];
  purpose: string;
}

/** The lists of a target with the ports their profile says they are for. */
export function ruleSpecs(config: Config, target: TargetConfig): RuleSpec[] {
  return [...target.lists].map(([list, remote]) => {
    const l = config.lists.get(list) as ListConfig;
    const pl = l.profile ? findProfile(l.profile)?.lists.find((x) => x.name === list) : undefined;
    return {
      list,
      remote,
      ports: pl?.ports ?? [],
      purpose: pl?.purpose ?? 'no profile: ports are yours to add',
    };
  });
}

const families = (target: TargetConfig): Family[] =>
  target.type === 'nftables' && target.family === 'ip'
    ? ['ipv4']
    : target.type === 'nftables' && target.family === 'ip6'
      ? ['ipv6']
      : ['ipv4', 'ipv6'];

/**
 * Firewall rules that use the managed lists, in the target's own wording. dnsfence prints them;
 * it never installs rules.
 */
export function renderRules(config: Config, target: TargetConfig, sources: readonly string[] = []): string {
  const specs = ruleSpecs(config, target);
  /** The sources of one family; undefined when no source was given at all (any source). */
  const from = (fam: Family): string[] | undefined =>
    sources.length === 0 ? undefined : sources.filter((s) => s.includes(':') === (fam === 'ipv6'));
  const out: string[] = [];
  switch (target.type) {
    case 'nftables': {
      out.push(
        `# Rules using the sets dnsfence keeps in table ${target.family} ${target.table}; dnsfence never installs them.`,
      );
      out.push(`# A rule can only use sets of its own table: put them in a chain of that table, e.g.`);
      out.push(
        `#   add chain ${target.family} ${target.table} forward { type filter hook forward priority filter; }`,
      );
      for (const s of specs) {
        out.push(`# ${s.list}: ${s.purpose}`);
        for (const fam of families(target)) {
          const ip = fam === 'ipv4' ? 'ip' : 'ip6';
          const srcs = from(fam);
          if (srcs?.length === 0) continue;
          const saddr = !srcs ? '' : `${ip} saddr ${srcs.length === 1 ? srcs[0] : `{ ${srcs.join(', ')} }`} `;
          const set = `@${s.remote}_${fam === 'ipv4' ? 'v4' : 'v6'}`;
          const matches = s.ports.length > 0 ? s.ports.map((p) => portMatch(p)) : [''];
          for (const m of matches)
            out.push(
              `add rule ${target.family} ${target.table} forward ${saddr}${ip} daddr ${set}${m ? ` ${m}` : ''} accept`,
            );
        }
      }
      break;
    }
    case 'mikrotik': {
      out.push(
        '# RouterOS filter rules using the address lists dnsfence keeps; dnsfence never installs them.',
      );
      out.push(
        '# Place them above the rule that drops forwarded traffic (check with /ip firewall filter print).',
      );
      for (const s of specs) {
        for (const fam of ['ipv4', 'ipv6'] as Family[]) {
          const srcs = from(fam);
          if (srcs?.length === 0) continue;
          const menu = fam === 'ipv4' ? '/ip firewall filter' : '/ipv6 firewall filter';
          const matches = s.ports.length > 0 ? s.ports : [undefined];
          for (const p of matches) {
            const proto = p
              ? ` protocol=${p.protocol === 'icmp' && fam === 'ipv6' ? 'icmpv6' : p.protocol}`
              : '';
            const port = p && p.protocol !== 'icmp' ? ` dst-port=${p.ports}` : '';
            // src-address takes one address or prefix: one rule per source.
            for (const src of srcs ?? [undefined])
              out.push(
                `${menu} add chain=forward action=accept${src ? ` src-address=${src}` : ''} dst-address-list=${s.remote}${proto}${port} comment="dnsfence ${s.list}: ${s.purpose.split(';')[0]}"`,
              );
          }
        }
      }
      break;
    }
    case 'opnsense': {
      out.push(
        '# OPNsense: Firewall > Rules > (interface the host sits behind), pass rules above any block rule.',
      );
      out.push('# action | protocol | source | destination (alias) | destination port | description');
      for (const s of specs) {
        const matches = s.ports.length > 0 ? s.ports : [undefined];
        for (const p of matches) {
          out.push(
            `pass | ${p ? p.protocol.toUpperCase() : 'any'} | ${sources.join(', ') || 'the host'} | ${s.remote} | ${p && p.protocol !== 'icmp' ? p.ports : 'any'} | dnsfence ${s.list}: ${s.purpose.split(';')[0]}`,
          );
        }
      }
      break;
    }
    case 'file':
      throw new ConfigError(
        `--target ${target.name}: a file target has no rules; the tool that reads ${target.dir} uses the lists`,
      );
  }
  const ports = specs.filter((s) => s.ports.length > 0).map((s) => `${s.list} (${formatPorts(s.ports)})`);
  if (ports.length === 0)
    out.push('# No list of this target comes from a profile: add the ports each list is for.');
  return `${out.join('\n')}\n`;
}

function portMatch(p: PortSpec): string {
  if (p.protocol === 'icmp') return 'icmp type echo-request';
  return `${p.protocol} dport ${p.ports}`;
}
