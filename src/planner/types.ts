import type { Family } from '../address.js';

/**
 * Why an address entered or left a list (PRODUCT.md section 6). `config` is for entries that left
 * because the configuration no longer asks for them (a name or static entry removed, a stricter
 * answer-hygiene setting).
 */
export type Reason = 'dns' | 'expired' | 'evicted' | 'drift' | 'static' | 'forced' | 'config';
export type Action = 'added' | 'removed';

export interface Change {
  target: string;
  list: string;
  action: Action;
  address: string;
  names: string[];
  reason: Reason;
  detail?: string;
}

/** One interval during which a name answered with an address. Times in ms since the epoch. */
export interface Sighting {
  name: string;
  family: Family;
  address: string;
  firstSeen: number;
  lastSeen: number;
}

export interface NameStatus {
  name: string;
  family: Family;
  lastSuccess: number | undefined;
  /** The latest lookup failed (timeout, SERVFAIL, …). */
  failing: boolean;
  outcome: string;
  detail?: string;
}

export type EntrySource = 'static' | 'dns' | 'stale';

export interface DesiredEntry {
  address: string;
  family: Family;
  names: string[];
  source: EntrySource;
}

export interface ExcludedEntry {
  address: string;
  family: Family;
  names: string[];
  reason: 'expired' | 'evicted' | 'config';
  detail: string;
}

export interface DesiredList {
  list: string;
  entries: Map<string, DesiredEntry>;
  /** Addresses seen for the list's names that it must not hold, with the reason. */
  excluded: Map<string, ExcludedEntry>;
  /** Names whose failing lookups keep their old addresses in the list. */
  staleNames: string[];
  /** Answers that arrived in this pass (seen at `now`) dropped by answer hygiene, as `name: address (range)`. */
  rejected: string[];
}
