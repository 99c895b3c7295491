import { parseAddress, type Family } from '../../src/address.js';

/** One set as `ipset save` lists it. */
export interface SavedSet {
  name: string;
  /** `hash:net`, `hash:ip`, `list:set`, … */
  type: string;
  /** `inet` / `inet6` for the hash types that have one. */
  family?: string;
  maxelem?: number;
  /** Create options beyond family, hashsize, maxelem, bucketsize and initval (timeout, counters, comment, …). */
  extensions: string[];
  /** Normalised entries; read for a hash:net set only. */
  entries: string[];
  /** Entries written with options (`192.0.2.0/24 nomatch`): a set holding them is not a plain list. */
  optioned: string[];
}

/** `ipset save` printed something this parser does not understand: nothing of it is trusted. */
export class SaveFormatError extends Error {}

/** Options every hash:net set is listed with; anything else changes what the set does. */
const PLAIN: Record<string, (value: string) => boolean> = {
  family: (v) => v === 'inet' || v === 'inet6',
  hashsize: (v) => /^\d+$/.test(v),
  maxelem: (v) => /^\d+$/.test(v),
  bucketsize: (v) => /^\d+$/.test(v),
  initval: (v) => /^0x[0-9a-f]+$/i.test(v),
};

const FAMILY: Record<string, Family> = { inet: 'ipv4', inet6: 'ipv6' };

/**
 * Parses the output of `ipset save` (the same as `ipset list -o save`): lines `create <set> <type>
 * <options>` and `add <set> <entry> [<options>]`, each add after its set's create. Every line is
 * checked for that shape; the sets `wanted` picks are read in full (options, entries), the others
 * only skimmed, since they may be large and of any type. Throws SaveFormatError.
 */
export function parseSave(text: string, wanted: (name: string) => boolean): Map<string, SavedSet> {
  const sets = new Map<string, SavedSet>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line === '' && i === lines.length - 1) return;
    const fail = (why: string): never => {
      throw new SaveFormatError(`line ${i + 1}: ${why}: ${JSON.stringify(line.slice(0, 120))}`);
    };
    const words = line.split(' ');
    const [verb, name, third] = words;
    if (verb !== 'create' && verb !== 'add') fail('expected "create" or "add"');
    if (!name || !third) fail(`expected "${verb} <set> ${verb === 'add' ? '<entry>' : '<type>'} …"`);
    if (verb === 'create') {
      if (seen.has(name!)) fail(`set ${name} is created twice`);
      seen.add(name!);
      if (wanted(name!)) sets.set(name!, created(name!, third!, words.slice(3), fail));
    } else {
      if (!seen.has(name!)) fail(`an entry of set ${name} before its create line`);
      const set = sets.get(name!);
      if (set?.type === 'hash:net') addEntry(set, third!, words.slice(3), fail);
    }
  });
  return sets;
}

function created(name: string, type: string, options: string[], fail: (why: string) => never): SavedSet {
  const set: SavedSet = { name, type, extensions: [], entries: [], optioned: [] };
  if (type !== 'hash:net') {
    // Only to name it in a message: the options of other types are theirs to define.
    const at = options.indexOf('family');
    if (at >= 0 && options[at + 1]) set.family = options[at + 1];
    return set;
  }
  for (let i = 0; i < options.length; i++) {
    const key = options[i] as string;
    const valid = PLAIN[key];
    if (!valid) {
      // What a plain hash:net set does not have (`timeout 300`, `counters`): kept as written.
      set.extensions.push(key);
      continue;
    }
    const value = options[i + 1];
    if (value === undefined || !valid(value)) fail(`${key} needs a value (found ${value ?? 'none'})`);
    if (key === 'family') set.family = value;
    if (key === 'maxelem') set.maxelem = Number(value);
    i += 1;
  }
  if (!set.family) fail(`set ${name} has no family`);
  return set;
}

function addEntry(set: SavedSet, entry: string, options: string[], fail: (why: string) => never): void {
  const address = parseAddress(entry);
  if (!address || address.family !== FAMILY[set.family as string])
    fail(`"${entry}" is not an ${set.family} address or prefix`);
  if (options.length > 0) set.optioned.push([entry, ...options].join(' '));
  else set.entries.push(address!.text);
}
