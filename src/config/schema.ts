import { z } from 'zod';
import { parseDuration } from '../time.js';

/** List names fit nftables set names (with `_v4`), RouterOS list names and OPNsense aliases. */
export const LIST_NAME = /^[A-Za-z][A-Za-z0-9_]{0,27}$/;

const DURATION = 'must be a duration such as 90s, 5m, 24h or 7d';
export const duration = z
  .string({ error: DURATION })
  .refine((s) => parseDuration(s) !== undefined, { message: DURATION })
  .transform((s) => parseDuration(s) as number);
/** A time limit or a retention: zero would time out every query or drop every address at once. */
export const positiveDuration = duration.refine((ms) => ms > 0, {
  message: 'must be longer than 0 (e.g. 2s, 24h)',
});

const family = z.enum(['ipv4', 'ipv6'], { error: 'must be ipv4 or ipv6' });
const families = z.array(family).min(1, 'must name at least one family');

const nameList = z.array(z.string({ error: 'must be a DNS name in quotes' }));
const staticList = z.array(z.string({ error: 'must be an address or prefix in quotes' }));

/** `tls:` of a target or a resolver: a CA file, a pinned certificate, or (warned) no verification. */
export const tlsSchema = z
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
  .object({ ca: z.string().min(1).optional(), fingerprint: tlsSchema.shape.fingerprint })
  .strict();

const targetLists = z.union([z.array(z.string()), z.record(z.string(), z.string())], {
  error: 'must be a list of list names or a map from list name to the name on the target',
});

/** The keys every target takes, whatever its type. */
export const targetCommon = {
  type: z.string({ error: 'is required: the kind of firewall (nftables, file, …)' }),
  lists: targetLists.optional(),
  timeout: positiveDuration.optional(),
  max_remove: z.number().min(0).max(1, 'is a fraction from 0 to 1 (0.5 = half of a list)').optional(),
};

/** `<prefix>_env` and `<prefix>_file`: a secret is named, never written into the file. */
export const secretKeys = (prefix: string) => ({
  [`${prefix}_env`]: z.string().min(1).optional(),
  [`${prefix}_file`]: z.string().min(1).optional(),
});

/** `serve:`: the feed and status web server (config/serve.ts). */
const serveSchema = z
  .object({
    listen: z.string({ error: 'must be address:port in quotes, e.g. "0.0.0.0:8443"' }).optional(),
    tls: z
      .object({
        cert_file: z.string({ error: 'is required: the PEM certificate (chain) serve presents' }).min(1),
        key_file: z.string({ error: 'is required: the PEM private key of that certificate' }).min(1),
      })
      .strict()
      .optional(),
    users_file: z.string().min(1).optional(),
    clients: z
      .array(z.string({ error: 'must be an address or prefix in quotes' }))
      .min(1, 'must name at least one address or prefix (or leave it out: anyone)')
      .optional(),
    healthy_within: positiveDuration.optional(),
  })
  .strict();

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
    // Each target is checked against the schema its type registers (config/load.ts).
    targets: z.record(z.string(), z.looseObject({})).optional(),
    // Each entry is checked against the keys of its type (config/notify.ts).
    notify: z.array(z.looseObject({})).optional(),
    serve: serveSchema.optional(),
    forward: z
      .object({
        listen: z
          .array(z.string({ error: 'must be an address and port in quotes ("127.0.0.1:53")' }))
          .min(1, 'must name at least one address (or leave it out: 127.0.0.1:53)')
          .optional(),
        upstreams: z
          .array(z.string({ error: 'must be a resolver in quotes' }))
          .min(1, 'must name at least one upstream (or leave it out: the resolvers)')
          .optional(),
        clients: z
          .array(z.string({ error: 'must be an address or prefix in quotes' }))
          .min(1, 'must name at least one prefix (or leave it out: loopback only)')
          .optional(),
        hold: duration.optional(),
        hold_targets: z.array(z.string({ error: 'must be a target name' })).optional(),
        rate_limit: z.number().int().min(0).optional(),
        max_learned: z.number().int().min(1).optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
