import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { computeDigest, createHasher, DigestError, parseDigest } from './index.ts';

const ABC_SHA256 = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const abc = new TextEncoder().encode('abc');
const chunks = () => [abc.subarray(0, 1), abc.subarray(1)];

describe('computeDigest', () => {
  it('hashes bytes with sha256 by default and sha512 on request', async () => {
    expect((await computeDigest(abc)).toString()).toBe(ABC_SHA256);
    expect((await computeDigest(abc, 'sha512')).algorithm).toBe('sha512');
  });

  it('hashes every kind of byte source to the same digest', async () => {
    const sources = [
      abc,
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks()) controller.enqueue(chunk);
          controller.close();
        },
      }),
      (async function* () {
        yield* chunks();
      })(),
      Readable.from(chunks()),
    ];
    for (const source of sources) {
      expect((await computeDigest(source)).toString()).toBe(ABC_SHA256);
    }
  });

  it('refuses algorithms it cannot compute', async () => {
    await expect(computeDigest(abc, 'md5' as 'sha256')).rejects.toSatisfy((error) =>
      DigestError.is(error, 'ERR_UNSUPPORTED_ALGORITHM'),
    );
  });

  it('rejects chunks that are not bytes with a TypeError', async () => {
    const bad = (async function* () {
      yield 'abc' as unknown as Uint8Array;
    })();
    await expect(computeDigest(bad)).rejects.toThrow(TypeError);
    await expect(computeDigest(42 as unknown as Uint8Array)).rejects.toThrow(TypeError);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    let pulled = 0;
    const endless = (async function* () {
      while (true) {
        pulled++;
        if (pulled === 3) controller.abort(new Error('stop'));
        yield abc;
      }
    })();
    await expect(computeDigest(endless, 'sha256', { signal: controller.signal })).rejects.toThrow('stop');
    expect(pulled).toBe(3);
  });
});

describe('createHasher', () => {
  it('hashes incrementally and gives a Digest once', async () => {
    const hasher = await createHasher();
    expect(hasher.algorithm).toBe('sha256');
    const digest = hasher.update(abc.subarray(0, 2)).update(abc.subarray(2)).digest();
    expect(digest.equals(parseDigest(ABC_SHA256))).toBe(true);
    expect(() => hasher.update(abc)).toThrow(/already taken/);
    expect(() => hasher.digest()).toThrow(/already taken/);
  });

  it('validates its arguments', async () => {
    await expect(createHasher('sha1' as 'sha256')).rejects.toSatisfy((error) =>
      DigestError.is(error, 'ERR_UNSUPPORTED_ALGORITHM'),
    );
    await expect(createHasher(1 as unknown as 'sha256')).rejects.toThrow(TypeError);
    const hasher = await createHasher();
    expect(() => hasher.update('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
