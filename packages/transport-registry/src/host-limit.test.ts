import { describe, expect, it } from 'vitest';
import { KeyedLimit } from './host-limit.ts';

describe('KeyedLimit', () => {
  it('lets at most `limit` hold a key at once, the rest in order, other keys apart', async () => {
    const limit = new KeyedLimit(2);
    const order: string[] = [];
    const first = await limit.acquire('a');
    const second = await limit.acquire('a');
    const other = await limit.acquire('b'); // another host is not held up
    const third = limit.acquire('a').then((release) => {
      order.push('third');
      return release;
    });
    const fourth = limit.acquire('a').then((release) => {
      order.push('fourth');
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(order).toEqual([]);
    expect(limit.running('a')).toBe(2);
    first();
    first(); // giving back twice frees one place only
    const releaseThird = await third;
    expect(order).toEqual(['third']);
    expect(limit.running('a')).toBe(2);
    second();
    (await fourth)();
    releaseThird();
    other();
    expect(limit.running('a')).toBe(0);
    expect(limit.running('b')).toBe(0);
    expect(order).toEqual(['third', 'fourth']);
  });

  it('takes an aborted waiter out of the line', async () => {
    const limit = new KeyedLimit(1);
    const held = await limit.acquire('a');
    const controller = new AbortController();
    const reason = new Error('stop');
    const waiting = limit.acquire('a', controller.signal);
    const behind = limit.acquire('a');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    held();
    (await behind)();
    expect(limit.running('a')).toBe(0);
    await expect(limit.acquire('a', controller.signal)).rejects.toBe(reason);
  });
});
