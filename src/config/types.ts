import type { z } from 'zod';
import type { Address, Family } from '../address.js';
import type { DnssecMode } from './resolver-spec.js';
import type { ResolverSpec } from './resolver-spec.js';
import type { NotifyEntry } from './notify.js';

export interface ResolveSettings {
  timeoutMs: number;
  attempts: number;
  concurrency: number;
  families: Family[];
  /** The top-level `dnssec` key, when `require`: here so that every resolver made from these settings has it. */
  dnssec?: DnssecMode;
}

export interface SafetySettings {
  /** Fraction (0-1) of a list's owned entries one sync may remove before the list is held back. */
  maxRemove: number;
  allowPrivate: boolean;
  maxAddressesPerName: number;
}

export interface ListConfig {
  name: string;
  names: string[];
  /**
   * `*.zone` entries (with `forward` only): the names below the zone are learned from forwarded
   * answers, never enumerated.
   */
  wildcards?: string[];
  /**
   * Names learned from forwarded answers (a wildcard or a CNAME chain matched), filled in from the
   * store when a pass starts: resolved like configured names while within retention of their last
   * query.
   */
  learned?: string[];
  /** Learned names past retention of their last query: no longer resolved, their addresses age out. */
  forgotten?: string[];
  static: Address[];
  retentionMs: number;
  families: Family[];
  maxAddressesPerName: number;
  allowPrivate: boolean;
  /** When set, answers must fall inside one of these prefixes; others are dropped and reported. */
  allow?: Address[];
  /** Overrides safety.max_remove (and the target's) for this list. */
  maxRemove?: number;
  /** Profile that contributed this list, when any. */
  profile?: string;
  /** Advice `check` prints for this list (e.g. a profile wildcard the admin must fill in). */
  note?: string;
}

export interface TlsSettings {
  ca?: string;
  fingerprint?: string;
  insecure: boolean;
}

/** A secret given as `*_env` (variable name) or `*_file` (path), never inline. */
export interface SecretRef {
  key: string;
  env?: string;
  file?: string;
}

/** A configured target. `settings` are its type's own, as that type's registration built them. */
export interface TargetConfig<S = unknown> {
  name: string;
  type: string;
  /** list name in the config → name on the target */
  lists: Map<string, string>;
  timeoutMs: number;
  /** Overrides safety.max_remove for this target. */
  maxRemove?: number;
  settings: S;
}

/** What a target type's registration gets to build its settings from its own keys. */
export interface TargetSettingsContext {
  /** `targets.edge`: where the target's keys are, for messages. */
  key: string;
  /** The lists the target holds. */
  lists: readonly ListConfig[];
  /** Each list's name on the target (`lists: {web: www}`), for types whose names have limits. */
  remotes: ReadonlyMap<string, string>;
  /** An error in one of the target's keys (`port`, or a path such as ['tls', 'ca']): exit 2. */
  fail(key: PropertyKey | PropertyKey[], message: string): never;
  warn(message: string): void;
  /** A path as written in the file, resolved against the configuration's folder. */
  path(text: string): string;
  /** `tls:` settings, checked; `key` names the key they were read from. */
  tls(value: unknown, key: PropertyKey): TlsSettings;
  /** A `<prefix>_env` / `<prefix>_file` secret of the target; undefined when not given and not required. */
  secret(prefix: string, required: boolean): SecretRef | undefined;
}

/** How the configuration reads the keys of one type of target (the registration's part it needs). */
export interface TargetTypeSpec<S = unknown> {
  readonly type: string;
  /** The type's own keys (besides type, lists, timeout and max_remove), validated strictly. */
  readonly schema: z.ZodObject;
  settings(raw: Record<string, unknown>, at: TargetSettingsContext): S;
  /** Of its traits, `hold`: whether the forwarder can hold answers until the target has an address. */
  describe(target: TargetConfig<S>): { hold: boolean };
}

/** An address and port a server listens on. */
export interface Endpoint {
  host: string;
  port: number;
  /** `127.0.0.1:53`, `[::1]:53` */
  label: string;
}

/** `forward`: watch answers DNS, forwards it, and learns the names of the lists from the answers. */
export interface ForwardConfig {
  /** UDP and TCP on each. */
  listen: Endpoint[];
  /** Undefined: the resolvers (`resolvers`, else /etc/resolv.conf). */
  upstreams: ResolverSpec[] | undefined;
  /** Who may ask; anyone else is REFUSED. */
  clients: Address[];
  /** Longest an answer waits for its new addresses to reach the hold targets; 0: never waits. */
  holdMs: number;
  /** The targets answers wait for. */
  holdTargets: string[];
  /** Queries per second per client address; 0: no limit. */
  rateLimit: number;
  /** Learned names a list keeps; beyond, the least recently asked is forgotten. */
  maxLearned: number;
}

/** `serve:`: where and how `serve` (and `watch`) answer feeds, the status page and metrics. */
export interface ServeSettings {
  listen: { host: string; port: number };
  /** PEM files, read when the server starts and again on SIGHUP; absent: plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Lines `user:secret`; absent: no authentication. */
  usersFile?: string;
  /** Who may connect; empty: anyone. */
  clients: Address[];
  /** /healthz answers 200 while the last run finished this recently; absent: the command's default. */
  healthyWithinMs?: number;
}

export interface Config {
  /** Absolute path of the file this came from (or a description for built-in configs). */
  file: string;
  dir: string;
  database: string;
  /** Undefined: the system resolvers from /etc/resolv.conf. */
  resolvers: ResolverSpec[] | undefined;
  resolve: ResolveSettings;
  retentionMs: number;
  staleLimitMs: number;
  safety: SafetySettings;
  profiles: string[];
  lists: Map<string, ListConfig>;
  targets: Map<string, TargetConfig>;
  /** Who hears about a run's changes and failures. */
  notify: NotifyEntry[];
  /** Set when the file has a `serve:` section. */
  serve?: ServeSettings;
  /** Set when `watch` is also the DNS forwarder that learns the lists' names from traffic. */
  forward?: ForwardConfig;
  /** SHA-256 of the configuration as parsed; recorded with every run. */
  hash: string;
  warnings: string[];
}
