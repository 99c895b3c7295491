import { familyOf, insideAny, judgeAnswer, within, type Family } from '../address.js';
import { namesOf } from '../config/lists.js';
import type { ListConfig } from '../config/types.js';

/** Why a list does not take an address a name answered with. */
export type Dropped =
  | {
      kind: 'range';
      /** ipaddr.js range name: `private`, `loopback`, … */
      range: string;
      /** allow_private would let it through (internal, routable space). */
      privateWouldPass: boolean;
    }
  | { kind: 'allow' };

/**
 * Answer hygiene and the list's `allow` prefixes: undefined when the list takes the address.
 * The planner drops answers by it, and `history` explains with it why an address is not listed.
 */
export function droppedAnswer(
  list: Pick<ListConfig, 'allowPrivate' | 'allow'>,
  address: string,
): Dropped | undefined {
  const verdict = judgeAnswer(address, list.allowPrivate);
  if (!verdict.accepted)
    return {
      kind: 'range',
      range: verdict.range,
      privateWouldPass: !list.allowPrivate && judgeAnswer(address, true).accepted,
    };
  if (list.allow && !insideAny(address, list.allow)) return { kind: 'allow' };
  return undefined;
}

/** A list that does not take an address some of its names answered with, and why, in words. */
export interface ListDrop {
  list: string;
  names: string[];
  why: string;
}

const FAMILY: Record<Family, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

/**
 * For each list holding one of `names`: why it drops `address`, which those names answered with.
 * Lists that take the address are left out.
 */
export function listDrops(
  lists: Iterable<ListConfig>,
  address: string,
  names: readonly string[],
): ListDrop[] {
  const drops: ListDrop[] = [];
  for (const list of lists) {
    const known = namesOf(list);
    const mine = names.filter((n) => known.includes(n));
    if (mine.length === 0) continue;
    const why = dropReason(list, address);
    if (why) drops.push({ list: list.name, names: mine, why });
  }
  return drops;
}

function dropReason(list: ListConfig, address: string): string | undefined {
  if (!list.families.includes(familyOf(address)))
    return `the list takes ${list.families.map((f) => FAMILY[f]).join(' and ')} addresses only`;
  const dropped = droppedAnswer(list, address);
  if (dropped?.kind === 'range')
    return `${dropped.range} address${dropped.privateWouldPass ? ' (set allow_private for internal names)' : ''}`;
  if (dropped?.kind === 'allow')
    return `outside the list's allow prefixes (${(list.allow ?? []).map((a) => a.text).join(', ')})`;
  const cover = list.static.find((s) => s.text.includes('/') && within(address, s));
  if (cover) return `covered by its static ${cover.text}, which the list holds instead`;
  return undefined;
}
