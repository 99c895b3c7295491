import { z } from 'zod';
import { secretKeys, tlsSchema } from '../../src/config/schema.js';
import type { SecretRef, TargetConfig, TlsSettings } from '../../src/config/types.js';

export interface OpnsenseSettings {
  /** Without a trailing slash. */
  url: string;
  tls: TlsSettings;
  /** The key=/secret= file OPNsense offers for download, or the two secrets apart. */
  apiKeyFile?: string;
  key?: SecretRef;
  secret?: SecretRef;
  /** Take over an existing alias of the same name that dnsfence did not create. */
  adopt: boolean;
}

export type OpnsenseTarget = TargetConfig<OpnsenseSettings>;

export const schema = z.object({
  url: z.url({ error: 'must be a URL such as https://192.0.2.2' }),
  api_key_file: z.string().min(1).optional(),
  ...secretKeys('key'),
  ...secretKeys('secret'),
  tls: tlsSchema.optional(),
  adopt: z.boolean().optional(),
});
