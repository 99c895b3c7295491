import type { Family } from '../address.js';

/** One interval during which a name answered with an address. Times in ms since the epoch. */
export interface Sighting {
  name: string;
  family: Family;
  address: string;
  firstSeen: number;
  lastSeen: number;
}

/** Where a name's lookups of one family stand; the planner needs it only while they fail. */
export interface NameStatus {
  name: string;
  family: Family;
  lastSuccess: number | undefined;
  /** The latest lookup failed (timeout, SERVFAIL, …). */
  failing: boolean;
  outcome: string;
  detail?: string;
}
