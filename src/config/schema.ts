import { z } from 'zod';
import { parseDuration } from '../time.js';

/** List names fit nftables set names (with `_v4`), RouterOS list names and OPNsense aliases. */
export const LIST_NAME = /^[A-Za-z][A-Za-z0-9_]{0,27}$/;

const DURATION = 'must be a duration such as 90s, 5m, 24h or 7d';
const duration = z
  .string({ error: DURATION })
  .refine((s) => parseDuration(s) !== undefined, { message: DURATION })
  .transform((s) => parseDuration(s) as number);
/** A time limit or a retention: zero would time out every query or drop every address at once. */
const positiveDuration = duration.refine((ms) => ms > 0, { message: 'must be longer than 0 (e.g. 2s, 24h)' });

const family = z.enum(['ipv4', 'ipv6'], { error: 'must be ipv4 or ipv6' });
const families = z.array(family).min(1, 'must name at least one family');

const nameList = z.array(z.string({ error: 'must be a DNS name in quotes' }));
const staticList = z.array(z.string({ error: 'must be an address or prefix in quotes' }));

const tls = z
  .object({
    ca: z.string().optional(),
    fingerprint: z
      .string()
      .regex(
        /^(?:sha256:?)?[0-9A-Fa-f]{2}(?::?[0-9A-Fa-f]{2}){31}$/,
        'must be a SHA-256 fingerprint (64 hex digits)',
      )
      .optional(),
    insecure: z.boolean().optional(),
  })
  .strict();

/** How tls:// and https:// resolvers' certificates are checked; no `insecure`: an answer is never unverified. */
const resolverTls = z
  .object({ ca: z.string().min(1).optional(), fingerprint: tls.shape.fingerprint })
  .strict();

const targetLists = z.union([z.array(z.string()), z.record(z.string(), z.string())], {
  error: 'must be a list of list names or a map from list name to the name on the target',
});

const targetBase = {
  lists: targetLists.optional(),
  timeout: positiveDuration.optional(),
  max_remove: z.number().min(0).max(1, 'is a fraction from 0 to 1 (0.5 = half of a list)').optional(),
};

const secretKeys = (prefix: string) => ({
  [`${prefix}_env`]: z.string().min(1).optional(),
  [`${prefix}_file`]: z.string().min(1).optional(),
});

export const targetSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('nftables'),
        family: z.enum(['inet', 'ip', 'ip6'], { error: 'must be inet, ip or ip6' }).optional(),
        table: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9_-]{0,30}$/, 'must be a table name (letters, digits, _ and -)')
          .optional(),
        nft: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
        ...targetBase,
      })
      .strict(),
    z
      .object({
        type: z.literal('file'),
        dir: z.string({ error: 'is required: the directory the list files are written to' }).min(1),
        ...targetBase,
      })
      .strict(),
    z
      .object({
        type: z.literal('mikrotik'),
        host: z.string({ error: 'is required' }).min(1),
        port: z.number().int().min(1).max(65535).optional(),
        tls: z.union([z.boolean(), tls]).optional(),
        username: z.string({ error: 'is required' }).min(1),
        ...secretKeys('password'),
        ...targetBase,
      })
      .strict(),
    z
      .object({
        type: z.literal('opnsense'),
        url: z.url({ error: 'must be a URL such as https://192.0.2.2' }),
        api_key_file: z.string().min(1).optional(),
        ...secretKeys('key'),
        ...secretKeys('secret'),
        tls: tls.optional(),
        adopt: z.boolean().optional(),
        ...targetBase,
      })
      .strict(),
  ],
  { error: 'must be one of nftables, file, mikrotik, opnsense' },
);

const listSchema = z
  .object({
    names: nameList.optional(),
    static: staticList.optional(),
    retention: positiveDuration.optional(),
    families: families.optional(),
    max_addresses_per_name: z.number().int().min(1).optional(),
    allow_private: z.boolean().optional(),
    allow_wide: z.boolean().optional(),
    allow: z
      .array(z.string({ error: 'must be a prefix in quotes' }))
      .min(1, 'must name at least one prefix')
      .optional(),
    max_remove: z.number().min(0).max(1, 'is a fraction from 0 to 1 (0.5 = half of a list)').optional(),
  })
  .strict();

export const configSchema = z
  .object({
    database: z.string().min(1).optional(),
    resolvers: z.array(z.string()).min(1, 'must name at least one resolver (or leave it out)').optional(),
    resolver_tls: resolverTls.optional(),
    dnssec: z.enum(['off', 'require'], { error: 'must be off or require' }).optional(),
    resolve: z
      .object({
        timeout: positiveDuration.optional(),
        attempts: z.number().int().min(1).max(10).optional(),
        concurrency: z.number().int().min(1).max(1024).optional(),
        families: families.optional(),
      })
      .strict()
      .optional(),
    retention: positiveDuration.optional(),
    stale_limit: duration.optional(),
    safety: z
      .object({
        max_remove: z.number().min(0).max(1, 'is a fraction from 0 to 1 (0.5 = half of a list)').optional(),
        allow_private: z.boolean().optional(),
        max_addresses_per_name: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    profiles: z.array(z.string()).optional(),
    lists: z.record(z.string(), listSchema.nullable()).optional(),
    targets: z.record(z.string(), targetSchema).optional(),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
export type RawTarget = z.output<typeof targetSchema>;
