/**
 * Runs `task` for every item with at most `concurrency` running at once. The first
 * failure (or an abort of `signal`) aborts the signal handed to the other tasks, and the
 * call settles only after every started task has: nothing is left running behind a
 * rejected promise, so a caller's cleanup sees quiet files.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const stop = new AbortController();
  const combined = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !combined.aborted && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item, combined);
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
      }
    }
  };
  const width = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== undefined) throw signal?.aborted ? signal.reason : failure.error;
  signal?.throwIfAborted();
}
