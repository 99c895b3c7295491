import { z } from 'zod';
import type { Family } from '../../src/address.js';
import type { TargetConfig } from '../../src/config/types.js';

export interface NftablesSettings {
  family: 'inet' | 'ip' | 'ip6';
  table: string;
  /** The command, as an argv prefix: `[nft]`, `[ssh, fw1, sudo, nft]`. */
  nft: string[];
}

export type NftablesTarget = TargetConfig<NftablesSettings>;

export const schema = z.object({
  family: z.enum(['inet', 'ip', 'ip6'], { error: 'must be inet, ip or ip6' }).optional(),
  table: z
    .string()
    .superRefine((text, ctx) => {
      if (/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(text)) return;
      // `table inet dnsfence`, as nft writes it: the family has a key of its own.
      const both = /^(inet|ip|ip6)\s+([A-Za-z][A-Za-z0-9_-]{0,30})$/.exec(text.trim());
      ctx.addIssue({
        code: 'custom',
        message: both
          ? `"${text}" names the family too: write table: ${both[2]} and family: ${both[1]}`
          : 'must be a table name (letters, digits, _ and -)',
      });
    })
    .optional(),
  nft: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});

export function familiesOf(family: NftablesSettings['family']): Family[] {
  return family === 'ip' ? ['ipv4'] : family === 'ip6' ? ['ipv6'] : ['ipv4', 'ipv6'];
}
