import type { ListConfig } from '../config/types.js';

/** A list entry a name matched: an exact name of the list, or one of its `*.zone` wildcards. */
export interface Match {
  list: string;
  entry: string;
}

const NONE: readonly Match[] = [];

/**
 * The entries of every list, by the name or zone they match: a name is looked up once as itself
 * and once per zone above it, so a query for a name on no list costs a few map lookups.
 */
export class ListIndex {
  private readonly exact = new Map<string, Match[]>();
  private readonly zones = new Map<string, Match[]>();

  constructor(lists: Iterable<ListConfig>) {
    for (const list of lists) {
      for (const name of list.names) push(this.exact, name, { list: list.name, entry: name });
      for (const w of list.wildcards ?? []) push(this.zones, w.slice(2), { list: list.name, entry: w });
    }
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.zones.size === 0;
  }

  /** The entries a name (lower case, no final dot) matches; a zone's own name is not below it. */
  match(name: string): readonly Match[] {
    let found = this.exact.get(name) ?? NONE;
    if (this.zones.size === 0) return found;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const below = this.zones.get(name.slice(dot + 1));
      if (below) found = found.length === 0 ? below : [...found, ...below];
    }
    return found;
  }
}

function push(map: Map<string, Match[]>, key: string, match: Match): void {
  const known = map.get(key);
  if (!known) map.set(key, [match]);
  else if (!known.some((m) => m.list === match.list && m.entry === match.entry)) known.push(match);
}
