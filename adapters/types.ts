import type { Family } from '../src/address.js';
import type { Change } from '../src/model/change.js';
import type { Place } from '../src/store/placements.js';

/** A list as the target knows it: the configured name and the name on the firewall. */
export interface ListRef {
  list: string;
  remote: string;
}

/** What one list on one target must change; `desired` is the full content for whole-object APIs. */
export interface ListUpdate extends ListRef {
  add: Change[];
  remove: Change[];
  desired: string[];
  /** Entries that stay but whose recorded DNS names changed (targets that label entries). */
  relabel: { address: string; names: string[] }[];
}

export interface ApplyResult {
  /** Changes the firewall confirmed. Only these reach the audit log. */
  applied: Change[];
  /** Set when some or all changes were not applied. */
  error?: string;
  /** Warnings about what was applied (e.g. saved, but not active yet). */
  messages?: string[];
}

/**
 * A firewall, reduced to what the core needs (STYLE.md): read what we own, apply changes,
 * say what was applied. Connection handling, login, TLS and retries stay inside.
 */
export interface Adapter {
  readonly target: string;
  /** Address families this target holds. */
  readonly families: readonly Family[];
  /** Warnings found while setting up (secret file modes, plain http, …). */
  readonly warnings?: readonly string[];
  /** False for an address this target cannot hold (an OPNsense host alias holds no prefixes). */
  accepts?(address: string): boolean;
  /**
   * True when the firewall still has work from an earlier write to finish (a pf refresh OPNsense
   * skipped): the sync then calls `apply([])` even without changes.
   */
  pending?(): boolean;
  /** Addresses a list holds in entries dnsfence does not own (hand-made, dynamic): they count as present. */
  foreign?(list: string): ReadonlySet<string>;
  /** For targets that record the DNS names behind an entry (RouterOS comments): the names per owned address. */
  labels?(list: string): ReadonlyMap<string, string[]>;
  /** Where a list lives on this target, in words, with the command that removes it there. */
  place(ref: ListRef): Place;
  /** Owned entries per list (keyed by the configured list name), normalised. Throws UserError. */
  read(lists: ListRef[]): Promise<Map<string, Set<string>>>;
  /**
   * True when `read` is local and holds nothing open (nft, a file): the sync then reads while DNS
   * is still resolving. A firewall reached over the network is read after resolution, so that no
   * session idles through slow lookups and the read is as fresh as possible.
   */
  readonly readsLocally?: boolean;
  apply(updates: ListUpdate[]): Promise<ApplyResult>;
  /** Read-only probe for `check`: one line on what was found. Throws UserError. */
  check(): Promise<string>;
  close(): Promise<void>;
}
