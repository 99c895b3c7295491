import type { Address, Family } from '../address.js';
import type { DnssecMode } from '../resolver/resolver.js';
import type { ResolverSpec } from '../resolver/servers.js';

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

interface TargetBase {
  name: string;
  /** list name in the config → name on the target */
  lists: Map<string, string>;
  timeoutMs: number;
  /** Overrides safety.max_remove for this target. */
  maxRemove?: number;
}

export interface NftablesTargetConfig extends TargetBase {
  type: 'nftables';
  family: 'inet' | 'ip' | 'ip6';
  table: string;
  nft: string[];
}

export interface FileTargetConfig extends TargetBase {
  type: 'file';
  dir: string;
}

export interface MikrotikTargetConfig extends TargetBase {
  type: 'mikrotik';
  host: string;
  port: number;
  tls: TlsSettings | false;
  username: string;
  password: SecretRef;
}

export interface OpnsenseTargetConfig extends TargetBase {
  type: 'opnsense';
  url: string;
  tls: TlsSettings;
  apiKeyFile?: string;
  key?: SecretRef;
  secret?: SecretRef;
  adopt: boolean;
}

export type TargetConfig =
  NftablesTargetConfig | FileTargetConfig | MikrotikTargetConfig | OpnsenseTargetConfig;

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
  /** SHA-256 of the configuration as parsed; recorded with every run. */
  hash: string;
  warnings: string[];
}
