import { z } from 'zod';
import { secretKeys, tlsSchema } from '../../src/config/schema.js';
import type { SecretRef, TargetConfig, TlsSettings } from '../../src/config/types.js';

export interface MikrotikSettings {
  host: string;
  port: number;
  /** false: the plain API (8728); otherwise API-SSL (8729) with these checks. */
  tls: TlsSettings | false;
  username: string;
  password: SecretRef;
}

export type MikrotikTarget = TargetConfig<MikrotikSettings>;

export const schema = z.object({
  host: z.string({ error: 'is required: the router’s address' }).min(1),
  port: z.number().int().min(1).max(65535).optional(),
  tls: z.union([z.boolean(), tlsSchema]).optional(),
  username: z.string({ error: 'is required' }).min(1),
  ...secretKeys('password'),
});
