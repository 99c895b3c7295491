import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Family } from '../../src/address.js';
import type { TargetConfig } from '../../src/config/types.js';

export interface IpsetSettings {
  /** The command, as an argv prefix: `[ipset]`, `[ssh, fw2, sudo, -n, ipset]`. */
  ipset: string[];
  /** Put in front of every set name: `<prefix><list>_v4`. */
  prefix: string;
  /** The families the target holds: a `_v6` set only with ipv6. */
  families: Family[];
  /** Entries a set may hold, given to `create … maxelem`. */
  maxelem: number;
}

export type IpsetTarget = TargetConfig<IpsetSettings>;

/** ipset's own default, which fits every list short of 65,536 entries in a family. */
export const DEFAULT_MAXELEM = 65_536;
/** The kernel's IPSET_MAXNAMELEN is 32 bytes with the closing NUL. */
export const MAX_NAME = 31;
/** Room for the temporary set's name, `<prefix>dnsfence_<8 hex digits>`, within MAX_NAME. */
const MAX_PREFIX = MAX_NAME - 'dnsfence_'.length - 8;

export const schema = z.object({
  ipset: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  prefix: z
    .string()
    .regex(
      new RegExp(`^[A-Za-z0-9_.-]{0,${MAX_PREFIX}}$`),
      `must be at most ${MAX_PREFIX} letters, digits, _, . or -`,
    )
    .optional(),
  families: z
    .array(z.enum(['ipv4', 'ipv6'], { error: 'must be ipv4 or ipv6' }))
    .min(1, 'must name at least one family')
    .optional(),
  maxelem: z.number().int().min(1).max(0xffff_ffff, 'must fit 32 bits').optional(),
});

const SUFFIX: Record<Family, string> = { ipv4: '_v4', ipv6: '_v6' };

/** The set that holds one family of a list: `<prefix><list>_v4`. */
export function setName(prefix: string, remote: string, family: Family): string {
  return `${prefix}${remote}${SUFFIX[family]}`;
}

/**
 * The set a changed set is rebuilt in before the swap. Named from the live set's name, so a sync
 * killed between creating and destroying it finds its own leftover and removes it.
 */
export function tempName(prefix: string, live: string): string {
  return `${prefix}dnsfence_${createHash('sha256').update(live).digest('hex').slice(0, 8)}`;
}

export const ipsetFamily = (family: Family) => (family === 'ipv4' ? 'inet' : 'inet6');
