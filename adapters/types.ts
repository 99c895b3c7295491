import type { z } from 'zod';
import type { Family } from '../src/address.js';
import type { PortSpec } from '../src/config/profiles.js';
import type { TargetConfig, TargetSettingsContext } from '../src/config/types.js';
import type { Change } from '../src/model/change.js';
import type { ListRef, Operation, Snapshot, TargetPlan } from '../src/planner/target.js';
import type { Db } from '../src/store/db.js';
import type { Place } from '../src/store/placements.js';
import type { Clock } from '../src/time.js';

export interface ApplyResult {
  /** Changes the firewall confirmed. Only these reach the audit log. */
  applied: Change[];
  /** The plan's own operations the target confirmed. */
  done: Operation[];
  /** Set when some or all of the plan was not applied. */
  error?: string;
  /** What the admin should know about what was applied (saved, but not active yet). */
  messages?: string[];
}

/**
 * A firewall, reduced to what the core needs: read what dnsfence owns, apply a plan, say what
 * the firewall confirmed. Connection handling, login, TLS and retries stay inside. Everything
 * `apply` needs comes with the plan, so preview and push are the same value.
 */
export interface Adapter<D = unknown> {
  readonly target: string;
  /** Warnings found while setting up (secret file modes, plain http, …). */
  readonly warnings: readonly string[];
  /** False for an address this target cannot hold (an OPNsense host alias holds no prefixes). */
  accepts?(address: string): boolean;
  /** Where a list lives on this target, in words, with the command that removes it there. */
  place(ref: ListRef): Place;
  /**
   * Whether a place this type filled and the configuration left behind is still there, from the
   * probe its `place` gave; without this method a leftover is listed until it is used again.
   */
  stillThere?(probe: unknown): Promise<boolean>;
  /** What the target holds of these lists. Throws TargetError. */
  read(lists: readonly ListRef[]): Promise<Snapshot<D>>;
  /**
   * The target's own work beyond adding and removing entries, from what was read and what the
   * lists will change: creating a missing set, relabelling, removing duplicates, a refresh still
   * pending. Pure: the plan shows exactly what `apply` will do.
   */
  operations?(snapshot: Snapshot<D>, plan: TargetPlan<D>): Operation[];
  apply(plan: TargetPlan<D>): Promise<ApplyResult>;
  /**
   * Puts entries on lists at once, in one transaction of the target's, without reading it first,
   * creating a missing table, set or file; an entry already there is no error. The forwarder's
   * held additions: a type with the `hold` trait has it. Returns the changes the target confirmed.
   */
  add?(additions: readonly Additions[]): Promise<ApplyResult>;
  /** Read-only probe for `check`: one line on what was found. Throws TargetError. */
  check(): Promise<string>;
  close(): Promise<void>;
}

/** Entries to add to one list (its `reason` is `dns`: new answers). */
export interface Additions {
  ref: ListRef;
  add: Change[];
}

/** What the rest of dnsfence needs to know about a configured target of some type. */
export interface TargetTraits {
  /** Address families the target holds. */
  families: Family[];
  /** One line: what and where it is (`table inet dnsfence via nft`). */
  summary: string;
  /**
   * True when reading it is local and holds nothing open (nft, a file): a sync then reads it while
   * DNS is still resolving. A firewall reached over the network is read after resolution, so that
   * no session idles through slow lookups and the read is as fresh as possible.
   */
  local: boolean;
  /** Folders it writes, for the service's write access. */
  writes: string[];
  /** Capabilities its commands need on this host (a local nft: CAP_NET_ADMIN). */
  capabilities: string[];
  /**
   * The forwarder may hold an answer until this target has its new addresses: it takes additions
   * at once, without a read first (the adapter's `add`), in one transaction of its own.
   */
  hold: boolean;
}

/** What `rules --target` asks a type to word: each list with the ports it is for, and who needs it. */
export interface RulesInput {
  lists: { list: string; remote: string; ports: PortSpec[]; purpose: string }[];
  /** Addresses or prefixes that need the access; empty for any source. */
  sources: string[];
}

/**
 * What a target's adapter may use of the run that creates it. A firewall reached over the network
 * needs none of it; a target that lives in dnsfence itself (a feed that `serve` publishes) keeps
 * its content in the run's database and stamps it with the run's clock.
 */
export interface TargetEnv {
  /** The database of the sync (read-only for `check`). */
  db: Db;
  clock: Clock;
}

/**
 * One kind of target, registered in adapters/registry.ts: everything dnsfence knows of it lives
 * in its folder. Adding a type is a folder and a line in the registry.
 */
export interface TargetType<S = unknown> {
  readonly type: string;
  /** Its own keys (besides type, lists, timeout and max_remove), validated strictly. */
  readonly schema: z.ZodObject<z.ZodRawShape>;
  /** Typed settings from the validated keys: defaults filled in, paths resolved, secrets by reference. */
  settings(raw: Record<string, unknown>, at: TargetSettingsContext): S;
  describe(target: TargetConfig<S>): TargetTraits;
  /** Rule lines for `rules --target`; a type without rules throws ConfigError saying what uses its lists. */
  rules(target: TargetConfig<S>, input: RulesInput): string[];
  /** The adapter. Client libraries are loaded here, not when the configuration is read. */
  create(target: TargetConfig<S>, env: TargetEnv): Promise<Adapter>;
}
