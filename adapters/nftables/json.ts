import { parseAddress } from '../../src/address.js';

export interface NftSet {
  name: string;
  type: unknown;
  flags: string[];
  elements: string[];
}

type Elem =
  string | { prefix?: { addr: string; len: number }; range?: [string, string]; elem?: { val: Elem } };

/** Normalises one element of `nft -j` output to the form the planner compares. */
export function elementText(e: Elem): string {
  if (typeof e === 'string') return parseAddress(e)?.text ?? e;
  if (e.elem) return elementText(e.elem.val);
  if (e.prefix)
    return parseAddress(`${e.prefix.addr}/${e.prefix.len}`)?.text ?? `${e.prefix.addr}/${e.prefix.len}`;
  if (e.range) {
    const lo = parseAddress(e.range[0])?.text ?? e.range[0];
    const hi = parseAddress(e.range[1])?.text ?? e.range[1];
    return `${lo}-${hi}`;
  }
  return JSON.stringify(e);
}

/** Sets of one table from `nft -j list table …` (schema in libnftables-json(5)). */
export function parseTableJson(text: string): Map<string, NftSet> {
  const doc = JSON.parse(text) as { nftables?: Record<string, unknown>[] };
  const sets = new Map<string, NftSet>();
  for (const item of doc.nftables ?? []) {
    const set = item.set as { name: string; type: unknown; flags?: string[]; elem?: Elem[] } | undefined;
    if (!set) continue;
    sets.set(set.name, {
      name: set.name,
      type: set.type,
      flags: set.flags ?? [],
      elements: (set.elem ?? []).map(elementText),
    });
  }
  return sets;
}
