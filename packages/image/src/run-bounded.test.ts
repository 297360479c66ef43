import { describe, expect, it } from 'vitest';
import { runBounded } from './run-bounded.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('runBounded', () => {
  it('runs every item, never more than `concurrency` at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      done.push(item);
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('on the first failure aborts the others, waits for them, and rejects with that failure', async () => {
    const settled: string[] = [];
    const started: number[] = [];
    const run = runBounded([0, 1, 2, 3, 4, 5], 2, async (item, signal) => {
      started.push(item);
      if (item === 1) throw new Error('boom');
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => setTimeout(resolve, 5), { once: true });
      });
      settled.push(`after abort ${item}`);
    });
    await expect(run).rejects.toThrow('boom');
    expect(settled).toEqual(['after abort 0']); // waited for, not left running
    expect(started).toEqual([0, 1]); // nothing new started after the failure
  });

  it("rejects with the caller's abort reason and starts nothing more", async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const run = runBounded(
      [0, 1, 2, 3],
      1,
      async (item, signal) => {
        started.push(item);
        controller.abort(new Error('stop'));
        signal.throwIfAborted();
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow('stop');
    expect(started).toEqual([0]);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    let calls = 0;
    await expect(runBounded([1], 4, async () => void calls++, controller.signal)).rejects.toThrow('early');
    expect(calls).toBe(0);
  });
});
