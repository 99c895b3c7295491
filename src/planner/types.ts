import type { Family } from '../address.js';

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

/** An answer dropped on its way into a list: by answer hygiene (its `range`), or outside the list's allow prefixes. */
export interface Rejected {
  name: string;
  address: string;
  why: 'range' | 'outside-allow';
  range?: string;
  /** `allow_private: true` would have let it in. */
  privateWouldPass?: boolean;
}

/** An entry left to a prefix of the same list that holds it. */
export interface Covered {
  entry: DesiredEntry;
  /** The prefix. */
  by: string;
}

export interface DesiredList {
  list: string;
  /** The DNS names the list is configured with now. */
  names: ReadonlySet<string>;
  entries: Map<string, DesiredEntry>;
  /** Entries a prefix of the list covers: a target that cannot hold the prefix holds them instead. */
  covered: Map<string, Covered>;
  /** Addresses seen for the list's names that it must not hold, with the reason. */
  excluded: Map<string, ExcludedEntry>;
  /** Names whose failing lookups keep their old addresses in the list. */
  staleNames: string[];
  /** Answers that arrived in this pass (seen at `now`) dropped on their way in. */
  rejected: Rejected[];
}
