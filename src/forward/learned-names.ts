import type { Db } from '../store/db.js';
import { loadLearned } from '../store/learned.js';

/**
 * The names each list learned, in the order they were last asked for, in memory so that an answer
 * needs no read of the database. A list keeps at most `max`: a new name beyond it pushes out the
 * one asked for least recently, so that a flood of made-up names under a wildcard costs bounded
 * memory and a bounded list.
 */
export class LearnedNames {
  private readonly byList = new Map<string, Map<string, true>>();

  constructor(
    db: Db,
    private max: number,
  ) {
    // Loaded least recently asked first: a Map keeps insertion order.
    const rows = loadLearned(db).sort((a, b) => (a.last_queried < b.last_queried ? -1 : 1));
    for (const r of rows) this.of(r.list).set(r.name, true);
  }

  private of(list: string): Map<string, true> {
    let names = this.byList.get(list);
    if (!names) this.byList.set(list, (names = new Map()));
    return names;
  }

  /** The name was asked for now: returns whether it is new to the list, and the names it pushed out. */
  asked(list: string, name: string): { isNew: boolean; forgotten: string[] } {
    const names = this.of(list);
    const isNew = !names.delete(name);
    names.set(name, true);
    const forgotten: string[] = [];
    for (const oldest of names.keys()) {
      if (names.size <= this.max) break;
      names.delete(oldest);
      forgotten.push(oldest);
    }
    return { isNew, forgotten };
  }

  setMax(max: number): void {
    this.max = max;
  }

  count(list: string): number {
    return this.byList.get(list)?.size ?? 0;
  }
}
