import type { TargetConfig } from '../src/config/types.js';
import { feed } from './feed/index.js';
import { file } from './file/index.js';
import { ipset } from './ipset/index.js';
import { mikrotik } from './mikrotik/index.js';
import { nftables } from './nftables/index.js';
import { opnsense } from './opnsense/index.js';
import type { Adapter, TargetEnv, TargetTraits, TargetType } from './types.js';

/** Every type of target dnsfence can push to: one folder each, one line here. */
export const TARGET_TYPES: readonly TargetType[] = [
  nftables,
  file,
  mikrotik,
  opnsense,
  ipset,
  feed,
] as TargetType[];

export function targetType(type: string): TargetType {
  const found = TARGET_TYPES.find((t) => t.type === type);
  if (!found) throw new Error(`no target type ${JSON.stringify(type)} is registered`);
  return found;
}

export function traitsOf(target: TargetConfig): TargetTraits {
  return targetType(target.type).describe(target);
}

/** The adapter for a configured target; its client libraries load now, not at start-up. */
export function createAdapter(target: TargetConfig, env: TargetEnv): Promise<Adapter> {
  return targetType(target.type).create(target, env);
}
