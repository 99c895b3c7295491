import type { Db } from '../store/db.js';
import { loadLearned } from '../store/learned.js';

/**
 * The names each list learned, in the order they were last asked for, with when, in memory so
 * that an answer needs no read of the database. A list keeps at most `max`, so that a flood of
 * made-up names under a wildcard costs bounded memory and a bounded list. A new name beyond it
 * pushes out the one asked for least recently, but only one no longer asked for within the list's
 * retention (its addresses are ageing out anyway); while every name was asked for within it, a
 * new name is refused: a flood must not push out the names the clients use.
 */
export class LearnedNames {
  private readonly byList = new Map<string, Map<string, number>>();

  constructor(
    db: Db,
    private max: number,
  ) {
    // Loaded least recently asked first: a Map keeps insertion order.
    const rows = loadLearned(db).sort((a, b) => (a.last_queried < b.last_queried ? -1 : 1));
    for (const r of rows) this.of(r.list).set(r.name, Date.parse(r.last_queried));
  }

  private of(list: string): Map<string, number> {
    let names = this.byList.get(list);
    if (!names) this.byList.set(list, (names = new Map()));
    return names;
  }

  /**
   * The name was asked for at `now`: whether it is new to the list, the names it pushed out, and
   * whether it was refused (the list is full of names asked within `retentionMs`).
   */
  asked(
    list: string,
    name: string,
    now: number,
    retentionMs: number,
  ): { isNew: boolean; forgotten: string[]; refused: boolean } {
    const names = this.of(list);
    const isNew = !names.delete(name);
    const forgotten: string[] = [];
    for (const [oldest, at] of names) {
      if (names.size < this.max) break;
      if (now - at < retentionMs) {
        // Nothing may go: the name stays unknown (an old one asked again is kept, as it was).
        if (!isNew) names.set(name, now);
        return { isNew, forgotten, refused: isNew };
      }
      names.delete(oldest);
      forgotten.push(oldest);
    }
    names.set(name, now);
    return { isNew, forgotten, refused: false };
  }

  setMax(max: number): void {
    this.max = max;
  }
}
