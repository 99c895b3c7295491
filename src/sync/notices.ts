import type { Family } from '../address.js';
import type { SafetyHold } from '../planner/safety.js';
import type { Rejected } from '../planner/types.js';
import type { Outcome } from '../resolver/types.js';

/**
 * What a sync has to tell the admin besides its changes, as values: the CLI, `watch` and the
 * demo word them with `noticeLine`, and tests look at the values, not at the words.
 */
export type Notice =
  | { kind: 'lookup-failed'; name: string; family: Family; outcome: Outcome; detail?: string }
  /** A configured name that answered NXDOMAIN or NODATA in every family of this pass. */
  | { kind: 'no-address'; name: string; outcomes: { family: Family; outcome: Outcome }[] }
  /** An answer of this pass dropped by answer hygiene (`range`) or outside the list's allow prefixes. */
  | ({ kind: 'rejected'; list: string } & Rejected)
  /** A failing name whose last good addresses stay (stale_limit). */
  | { kind: 'stale'; list: string; name: string }
  | { kind: 'held'; target: string; list: string; hold: SafetyHold }
  /** Addresses the list must hold that this target cannot (an OPNsense host alias takes no prefixes). */
  | { kind: 'cannot-hold'; target: string; list: string; type: string; addresses: string[]; preview: boolean }
  /** The configuration moved a list: what dnsfence put in its old place stays there. */
  | {
      kind: 'moved';
      target: string;
      list: string;
      to: string;
      from: string;
      removal: string;
      entries: number;
    }
  /** A target or list no longer configured: its place is left as it was. */
  | {
      kind: 'left-behind';
      target: string;
      list: string;
      why: string;
      place: string;
      removal: string;
      entries: number;
    }
  /** A place left behind that is gone now (removed by the admin): no longer listed. */
  | { kind: 'leftover-gone'; target: string; list: string; place: string }
  | { kind: 'target-says'; target: string; message: string }
  | { kind: 'target-failed'; target: string; error: string };

export type NoticeLevel = 'debug' | 'info' | 'warn' | 'error';

const record = (family: Family) => (family === 'ipv4' ? 'A' : 'AAAA');
const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

/** The one line a notice is worded as, and how loud. */
export function noticeLine(n: Notice): { level: NoticeLevel; text: string } {
  switch (n.kind) {
    case 'lookup-failed':
      return {
        level: 'warn',
        text: `${n.name} ${record(n.family)}: ${n.outcome}${n.detail ? ` (${n.detail})` : ''}`,
      };
    case 'no-address': {
      const outcomes = n.outcomes.map((o) => `${o.outcome.toUpperCase()} for ${record(o.family)}`).join(', ');
      return {
        level: 'warn',
        text: `${n.name}: no address (${outcomes}); a typo, or a retired host? Its earlier addresses leave through retention`,
      };
    }
    case 'rejected':
      return {
        level: 'warn',
        text:
          n.why === 'outside-allow'
            ? `${n.list}: dropped answer ${n.name}: ${n.address} (outside allow)`
            : `${n.list}: dropped answer ${n.name}: ${n.address} (${n.range})${n.privateWouldPass ? ' (set allow_private for internal names)' : ''}`,
      };
    case 'stale':
      return {
        level: 'warn',
        text: `${n.list}: ${n.name} is failing; its last good addresses are kept (stale_limit)`,
      };
    case 'held': {
      const h = n.hold;
      const base = `${n.target}/${n.list}: would remove ${h.count} of ${h.owned} entries (max_remove ${h.maxRemove} allows ${h.limit})`;
      return {
        level: 'warn',
        text: `${base}; ${h.forced ? 'applied with --force' : 'held back (use --force to apply)'}`,
      };
    }
    case 'cannot-hold':
      return {
        level: n.preview ? 'warn' : 'debug',
        text: `${n.target}/${n.list}: ${n.addresses.join(', ')} cannot be held by ${/^[aeiou]/.test(n.type) ? 'an' : 'a'} ${n.type} target; left out`,
      };
    case 'moved':
      return {
        level: 'warn',
        text:
          `target ${n.target}: list ${n.list} now lives in ${n.to}; the ${entries(n.entries)} dnsfence put in ${n.from} ` +
          `stay there: remove it with: ${n.removal}`,
      };
    case 'left-behind':
      return {
        level: 'warn',
        text: `target ${n.target}: list ${n.list}: ${n.why}; the ${entries(n.entries)} dnsfence put in ${n.place} stay there: remove it with: ${n.removal}`,
      };
    case 'leftover-gone':
      return {
        level: 'info',
        text: `target ${n.target}: list ${n.list}: ${n.place} is gone; no longer listed as left behind`,
      };
    case 'target-says':
      return { level: 'warn', text: `target ${n.target}: ${n.message}` };
    case 'target-failed':
      return { level: 'error', text: `target ${n.target}: ${n.error}` };
  }
}
