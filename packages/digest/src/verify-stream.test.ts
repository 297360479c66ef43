import { describe, expect, it } from 'vitest';
import { computeDigest, type DigestError, verifyBytes, verifyStream } from './index.ts';

const encoder = new TextEncoder();
const content = encoder.encode('hello, verified world');

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<DigestError> {
  try {
    await promise;
  } catch (error) {
    return error as DigestError;
  }
  throw new Error('expected a failure');
}

function* split(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('verifyStream', () => {
  it('passes matching content through unchanged, chunk for chunk', async () => {
    const digest = await computeDigest(content);
    const chunks = [...split(content, 5)];
    const out = await collect(
      verifyStream(
        (async function* () {
          yield* chunks;
        })(),
        { digest, size: content.length },
      ),
    );
    expect(out).toEqual(chunks);
    // The size is optional (Docker schema 1 layers have none).
    expect(await collect(verifyStream(content, { digest: digest.toString() }))).toEqual([content]);
  });

  it('fails with ERR_DIGEST_MISMATCH, expected and actual in fields', async () => {
    const digest = await computeDigest(content);
    const tampered = content.slice();
    tampered[3] = (tampered[3] ?? 0) ^ 1;
    const error = await failure(collect(verifyStream(tampered, { digest, size: content.length })));
    expect(error.code).toBe('ERR_DIGEST_MISMATCH');
    expect(error.expected).toBe(digest.toString());
    expect(error.actual).toBe((await computeDigest(tampered)).toString());
    expect(error.message).toContain(digest.toString());
  });

  it('fails with ERR_SIZE_MISMATCH when the content ends short', async () => {
    const digest = await computeDigest(content);
    const error = await failure(
      collect(verifyStream(content.subarray(0, 10), { digest, size: content.length })),
    );
    expect(error.code).toBe('ERR_SIZE_MISMATCH');
    expect(error.expected).toBe(content.length);
    expect(error.actual).toBe(10);
  });

  it('fails with ERR_SIZE_MISMATCH as soon as more bytes than expected arrive', async () => {
    const digest = await computeDigest(content);
    let pulled = 0;
    const endless = (async function* () {
      while (true) {
        pulled++;
        yield content.subarray(0, 4);
      }
    })();
    const passed: Uint8Array[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of verifyStream(endless, { digest, size: 10 })) passed.push(chunk);
      })(),
    );
    expect(error.code).toBe('ERR_SIZE_MISMATCH');
    expect(error.expected).toBe(10);
    expect(error.actual).toBe(12);
    // The chunk that overflowed was not passed on, and reading stopped there.
    expect(passed.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(8);
    expect(pulled).toBe(3);
  });

  it('also fails when the extra bytes come with a correct digest prefix', async () => {
    const digest = await computeDigest(content);
    const longer = encoder.encode('hello, verified world and more');
    const error = await failure(collect(verifyStream(longer, { digest, size: content.length })));
    expect(error.code).toBe('ERR_SIZE_MISMATCH');
  });

  it('rejects an unusable expectation before reading anything', async () => {
    const digest = await computeDigest(content);
    expect((await failure(collect(verifyStream(content, { digest: 'sha256:nothex', size: 1 })))).code).toBe(
      'ERR_DIGEST_INVALID',
    );
    expect((await failure(collect(verifyStream(content, { digest: 'foo:abc', size: 1 })))).code).toBe(
      'ERR_UNSUPPORTED_ALGORITHM',
    );
    await expect(collect(verifyStream(content, { digest, size: -1 }))).rejects.toThrow(RangeError);
    await expect(collect(verifyStream(content, { digest, size: 1.5 }))).rejects.toThrow(RangeError);
  });

  it('verifies a web ReadableStream and cancels it when the consumer stops early', async () => {
    const digest = await computeDigest(content);
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(content.subarray(0, 4));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _chunk of verifyStream(stream, { digest, size: content.length })) break;
    expect(cancelled).toBe(true);
  });

  it('verifies sha512 digests', async () => {
    const digest = await computeDigest(content, 'sha512');
    expect(await collect(verifyStream(content, { digest, size: content.length }))).toHaveLength(1);
  });
});

describe('verifyBytes', () => {
  it('accepts bytes that are what they say and refuses others', async () => {
    const digest = await computeDigest(content);
    await verifyBytes(content, { digest, size: content.length });
    await expect(
      verifyBytes(content.subarray(1), { digest, size: content.length - 1 }),
    ).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
    await expect(verifyBytes(content, { digest, size: 3 })).rejects.toMatchObject({
      code: 'ERR_SIZE_MISMATCH',
    });
  });
});
