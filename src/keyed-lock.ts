/**
 * One holder per key at a time, served in the order they asked. In `watch`, a sync and the
 * forwarder's held additions both write to a target and record what it confirmed; each reads,
 * writes and records a target while no other does.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves, once the key is free, with the function that frees it again. */
  acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let free!: () => void;
    const held = new Promise<void>((resolve) => (free = resolve));
    const tail = before.then(() => held);
    this.tails.set(key, tail);
    let freed = false;
    return before.then(() => () => {
      if (freed) return;
      freed = true;
      free();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
  }
}
