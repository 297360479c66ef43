import { describe, expect, it } from 'vitest';
import { collectBytes, concatBytes, iterateBytes } from './index.ts';

describe('byte sources', () => {
  it('concatBytes joins chunks and passes a single chunk through', () => {
    const one = Uint8Array.of(1, 2);
    expect(concatBytes([one])).toBe(one);
    expect(concatBytes([])).toEqual(new Uint8Array(0));
    expect(concatBytes([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)])).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });

  it('collectBytes reads bytes, web streams and async iterables whole', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Uint8Array.of(1));
        controller.enqueue(Uint8Array.of(2));
        controller.close();
      },
    });
    expect(await collectBytes(stream)).toEqual(Uint8Array.of(1, 2));
    expect(await collectBytes(Uint8Array.of(9))).toEqual(Uint8Array.of(9));
    const aborted = AbortSignal.abort(new Error('stopped'));
    await expect(collectBytes(Uint8Array.of(1), aborted)).rejects.toThrow('stopped');
  });

  it('iterateBytes rejects sources that are not bytes', async () => {
    await expect(collectBytes({} as unknown as Uint8Array)).rejects.toThrow(TypeError);
    const chunks: Uint8Array[] = [];
    for await (const chunk of iterateBytes(Uint8Array.of(5))) chunks.push(chunk);
    expect(chunks).toEqual([Uint8Array.of(5)]);
  });
});
