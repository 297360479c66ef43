// Bounded concurrency per host: at most `limit` holders at once for each key, the others
// waiting in order (an abort takes a waiter out of the line).

/** Hands out at most `limit` places at once per key. */
export class KeyedLimit {
  readonly #limit: number;
  readonly #hosts = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit) || 1);
  }

  /** Waits for a place for `key`; the function returned gives it back (once). */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    let host = this.#hosts.get(key);
    if (host === undefined) {
      host = { running: 0, waiting: [] };
      this.#hosts.set(key, host);
    }
    const line = host;
    if (line.running < this.#limit) {
      line.running += 1;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          line.waiting.splice(line.waiting.indexOf(wake), 1);
          reject(signal?.reason);
        };
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        line.waiting.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = line.waiting.shift();
      if (next !== undefined) return next(); // the place passes straight to the next waiter
      line.running -= 1;
      if (line.running === 0) this.#hosts.delete(key);
    };
  }

  /** How many hold a place for `key` now. */
  running(key: string): number {
    return this.#hosts.get(key)?.running ?? 0;
  }
}
