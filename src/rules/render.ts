import { targetType } from '../../adapters/registry.js';
import type { RulesInput } from '../../adapters/types.js';
import { findProfile } from '../config/profiles.js';
import type { Config, ListConfig, TargetConfig } from '../config/types.js';

export type RuleSpec = RulesInput['lists'][number];

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

/**
 * Firewall rules that use the managed lists, in the target's own wording (its type says how).
 * dnsfence prints them; it never installs rules.
 */
export function renderRules(config: Config, target: TargetConfig, sources: readonly string[] = []): string {
  const lists = ruleSpecs(config, target);
  const out = targetType(target.type).rules(target, { lists, sources: [...sources] });
  if (!lists.some((s) => s.ports.length > 0))
    out.push('# No list of this target comes from a profile: add the ports each list is for.');
  return `${out.join('\n')}\n`;
}
