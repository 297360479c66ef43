// One set of vectors, run against both runtime branches of `#compression-backend`.
// The expected bytes are the inputs themselves (round trips), Node's own gunzip (an
// independent decoder for the node branch's and pako's output) and the formats' fixed
// fields. Interop with gzip, pigz and zstd is in compression.interop.test.ts.
import { gunzipSync, gzipSync, constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import { collectBytes, concatBytes } from '@stevedore/digest';
import { StevedoreError } from '@stevedore/errors';
import { describe, expect, it } from 'vitest';
import * as selected from '#compression-backend';
import { ArchiveError } from './archive-errors.ts';
import { compressWith, decompressWith, detectCompression } from './compression.ts';
import type { CompressionBackend } from './compression-backend.ts';
import { compressionBackend as nodeBackend } from './compression-backend-node.ts';
import { compressionBackend as portableBackend } from './compression-backend-portable.ts';
import { gzipBlockSize, zstdBlockSize } from './parallel-encode.ts';
import { scanZstdFrames } from './zstd-frames.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// Deterministic test data: text-like (compressible) and xorshift noise (incompressible).
function text(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const encoder = new TextEncoder();
  let offset = 0;
  for (let line = 0; offset < length; line++) {
    const encoded = encoder.encode(
      `${line} usr/lib/x86_64-linux-gnu/libstevedore.so.${line % 97} rwxr-xr-x\n`,
    );
    bytes.set(encoded.subarray(0, length - offset), offset);
    offset += encoded.length;
  }
  return bytes;
}
function noise(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
// Text with a noisy stretch in the middle, like a layer with a binary in it.
function mixed(length: number): Uint8Array {
  const bytes = text(length);
  const third = Math.floor(length / 3);
  bytes.set(noise(third, 7), third);
  return bytes;
}
function* chunked(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}
async function* asyncChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  yield* chunked(bytes, size);
}
async function sizes(chunks: AsyncIterable<Uint8Array>): Promise<number[]> {
  const result: number[] = [];
  for await (const chunk of chunks) result.push(chunk.length);
  return result;
}
// toEqual walks big arrays slowly; this finds the first difference.
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  let differ = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      differ = i;
      break;
    }
  }
  expect(differ).toBe(-1);
}
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

interface Vector {
  readonly name: string;
  readonly bytes: () => Uint8Array;
  /** Input chunk size; the whole input at once when absent. */
  readonly chunk?: number;
}

const vectors: Vector[] = [
  { name: 'empty input', bytes: () => new Uint8Array(0) },
  { name: '1 byte', bytes: () => Uint8Array.of(42) },
  { name: '64 KiB of zeros', bytes: () => new Uint8Array(64 * KiB) },
  { name: 'text, 100 KiB in 1-byte-odd chunks', bytes: () => text(100 * KiB), chunk: 4093 },
  { name: 'noise, 300 KiB', bytes: () => noise(300 * KiB) },
  { name: '128 KiB - 1', bytes: () => mixed(gzipBlockSize - 1) },
  { name: '128 KiB', bytes: () => mixed(gzipBlockSize) },
  { name: '128 KiB + 1', bytes: () => mixed(gzipBlockSize + 1), chunk: 7 },
  { name: '4 MiB - 1', bytes: () => mixed(zstdBlockSize - 1), chunk: 65537 },
  { name: '4 MiB + 1', bytes: () => mixed(zstdBlockSize + 1), chunk: MiB },
  { name: '9 MiB + 3 of text', bytes: () => text(9 * MiB + 3), chunk: 1000 * KiB + 1 },
];

const backends: ReadonlyArray<readonly [string, CompressionBackend]> = [
  ['node:zlib', nodeBackend],
  ['portable', portableBackend],
];

describe.each(backends)('%s backend', (_name, backend) => {
  for (const compression of ['gzip', 'zstd'] as const) {
    describe(compression, () => {
      for (const vector of vectors) {
        it(`round-trips ${vector.name}`, { timeout: 60_000 }, async () => {
          const input = vector.bytes();
          const source = vector.chunk === undefined ? input : asyncChunks(input, vector.chunk);
          const compressed = await collectBytes(compressWith(backend, source, compression));
          expect(detectCompression(compressed)).toBe(compression);
          const restored = await collectBytes(
            decompressWith(backend, asyncChunks(compressed, 3001), compression),
          );
          expectBytes(restored, input);
          if (compression === 'gzip') expectBytes(gunzipSync(compressed), input);
        });
      }

      it('is done with each input chunk before asking for the next (a source may reuse its buffer)', async () => {
        const input = mixed(2 * MiB + 777);
        const compressed = await collectBytes(compressWith(backend, input, compression));
        // One buffer for every chunk, spoilt as soon as the next is asked for; a first
        // chunk of 2 bytes (too few to tell the compression) and odd sizes after it.
        async function* reusing(): AsyncGenerator<Uint8Array> {
          const buffer = new Uint8Array(40_000);
          const sizes = [2, 3, 40_000, 12_345];
          for (let offset = 0, turn = 0; offset < compressed.length; turn++) {
            const size = Math.min(sizes[Math.min(turn, 3)] ?? 1, compressed.length - offset);
            buffer.set(compressed.subarray(offset, offset + size));
            offset += size;
            yield buffer.subarray(0, size);
            buffer.fill(0xee);
          }
        }
        expectBytes(await collectBytes(decompressWith(backend, reusing(), 'auto')), input);
        expectBytes(await collectBytes(decompressWith(backend, reusing(), compression)), input);
      });

      it('is deterministic: same bytes twice, and for any chunking of the input', async () => {
        const input = mixed(3 * gzipBlockSize + 5000);
        const whole = await collectBytes(compressWith(backend, input, compression));
        expectBytes(await collectBytes(compressWith(backend, input, compression)), whole);
        for (const size of [1000, 65536, 131073]) {
          expectBytes(
            await collectBytes(compressWith(backend, asyncChunks(input, size), compression)),
            whole,
          );
        }
      });

      it('honours the level', async () => {
        const input = mixed(600 * KiB);
        const fast = await collectBytes(compressWith(backend, input, compression, { level: 1 }));
        const strong = await collectBytes(
          compressWith(backend, input, compression, { level: compression === 'gzip' ? 9 : 19 }),
        );
        expect(strong.length).toBeLessThan(fast.length);
        for (const compressed of [fast, strong]) {
          expectBytes(await collectBytes(decompressWith(backend, compressed, compression)), input);
        }
      });

      it('gives output chunks of 64 KiB or more, except the last', { timeout: 60_000 }, async () => {
        const input = mixed(3 * MiB);
        const compressed = await collectBytes(compressWith(backend, asyncChunks(input, 1024), compression));
        const compressedSizes = await sizes(compressWith(backend, asyncChunks(input, 1024), compression));
        expect(compressedSizes.slice(0, -1).every((size) => size >= 64 * KiB)).toBe(true);
        const restoredSizes = await sizes(
          decompressWith(backend, asyncChunks(compressed, 1024), compression),
        );
        expect(restoredSizes.length).toBeGreaterThan(1);
        expect(restoredSizes.slice(0, -1).every((size) => size >= 64 * KiB)).toBe(true);
        expect(restoredSizes.reduce((a, b) => a + b)).toBe(input.length);
      });

      it('reads concatenated streams, split at every offset', async () => {
        const first = await collectBytes(compressWith(backend, text(300), compression));
        const second = await collectBytes(compressWith(backend, noise(200), compression));
        const both = concatBytes([first, second]);
        const expected = concatBytes([text(300), noise(200)]);
        for (let split = 0; split <= both.length; split++) {
          const parts = [both.subarray(0, split), both.subarray(split)];
          expectBytes(
            await collectBytes(
              decompressWith(backend, asyncChunks(concatBytes(parts), both.length + 1), compression),
            ),
            expected,
          );
          const source = (async function* () {
            yield* parts;
          })();
          expectBytes(await collectBytes(decompressWith(backend, source, compression)), expected);
        }
      });

      it('fails with ERR_DECOMPRESSION_FAILED on truncated input', async () => {
        const compressed = await collectBytes(compressWith(backend, mixed(200 * KiB), compression));
        for (const cut of [
          0,
          1,
          3,
          9,
          100,
          compressed.length >> 1,
          compressed.length - 4,
          compressed.length - 1,
        ]) {
          const error = await failure(
            collectBytes(decompressWith(backend, compressed.subarray(0, cut), compression)),
          );
          expect(error).toBeInstanceOf(ArchiveError);
          expect(StevedoreError.is(error, 'ERR_DECOMPRESSION_FAILED')).toBe(true);
          expect((error as ArchiveError).message).toContain(`${compression} decompression failed`);
          expect((error as ArchiveError).cause).toBeDefined();
        }
      });

      it('fails with ERR_DECOMPRESSION_FAILED on corrupt input', async () => {
        const input = mixed(200 * KiB);
        const compressed = await collectBytes(compressWith(backend, input, compression));
        const positions = [
          0,
          2,
          12,
          40,
          compressed.length >> 1,
          compressed.length - 6,
          compressed.length - 2,
        ];
        for (const position of positions) {
          const corrupt = compressed.slice();
          corrupt[position] = (corrupt[position] as number) ^ 0x5a;
          const result = await collectBytes(decompressWith(backend, corrupt, compression)).then(
            (restored) => restored,
            (error: unknown) => error,
          );
          // A flipped bit inside zstd literals can decode to other bytes of the same
          // size; then nothing could tell. Anything else must fail with the code.
          if (result instanceof Uint8Array) {
            expect(compression).toBe('zstd');
            expect(result.length === input.length && result.every((byte, i) => byte === input[i])).toBe(
              false,
            );
          } else {
            expect(StevedoreError.is(result, 'ERR_DECOMPRESSION_FAILED')).toBe(true);
          }
        }
        const error = await failure(collectBytes(decompressWith(backend, noise(1000), compression)));
        expect(StevedoreError.is(error, 'ERR_DECOMPRESSION_FAILED')).toBe(true);
      });

      it('stops when the signal aborts', async () => {
        const controller = new AbortController();
        const reason = new Error('stop');
        let pulled = 0;
        let closed = false;
        const block = noise(64 * KiB);
        const endless = (async function* () {
          try {
            while (true) {
              pulled++;
              yield block;
            }
          } finally {
            closed = true;
          }
        })();
        const stream = compressWith(backend, endless, compression, { signal: controller.signal });
        await stream.next();
        controller.abort(reason);
        const pulledAtAbort = pulled;
        expect(await failure(collectBytes(stream))).toBe(reason);
        expect(pulled).toBeLessThanOrEqual(pulledAtAbort + 1);
        expect(closed).toBe(true);

        const compressed = await collectBytes(compressWith(backend, noise(2 * MiB), compression));
        const decoding = new AbortController();
        const decoder = decompressWith(backend, asyncChunks(compressed, 64 * KiB), compression, {
          signal: decoding.signal,
        });
        await decoder.next();
        decoding.abort(reason);
        expect(await failure(collectBytes(decoder))).toBe(reason);

        const aborted = AbortSignal.abort(reason);
        expect(
          await failure(collectBytes(compressWith(backend, noise(10), compression, { signal: aborted }))),
        ).toBe(reason);
      });

      it('passes an error of the source through unchanged, and closes the source on early exit', async () => {
        const sourceError = new Error('disk on fire');
        const broken = (async function* () {
          yield noise(300 * KiB);
          throw sourceError;
        })();
        expect(await failure(collectBytes(compressWith(backend, broken, compression)))).toBe(sourceError);

        const compressed = await collectBytes(compressWith(backend, noise(300 * KiB), compression));
        const brokenCompressed = (async function* () {
          yield compressed.subarray(0, 1000);
          throw sourceError;
        })();
        expect(await failure(collectBytes(decompressWith(backend, brokenCompressed, compression)))).toBe(
          sourceError,
        );

        let closed = false;
        const endless = (async function* () {
          try {
            while (true) yield noise(64 * KiB);
          } finally {
            closed = true;
          }
        })();
        for await (const _chunk of compressWith(backend, endless, compression)) break;
        expect(closed).toBe(true);
      });
    });
  }

  it('writes a fixed gzip header and a CRC-32/ISIZE trailer', async () => {
    const input = text(1000);
    const compressed = await collectBytes(compressWith(backend, input, 'gzip'));
    expect([...compressed.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const view = new DataView(compressed.buffer, compressed.byteOffset + compressed.length - 8);
    // Node's gzip of the same input has a CRC-32 computed by zlib, independently.
    const reference = gzipSync(input);
    expect(view.getUint32(0, true)).toBe(reference.readUInt32LE(reference.length - 8));
    expect(view.getUint32(4, true)).toBe(1000);
    // Empty input: a final empty deflate block (03 00), CRC 0, ISIZE 0.
    const empty = await collectBytes(compressWith(backend, new Uint8Array(0), 'gzip'));
    expect([...empty.subarray(10)]).toEqual([3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('writes zstd as frames of at most 4 MiB that declare their size', async () => {
    const compressed = await collectBytes(compressWith(backend, text(9 * MiB), 'zstd'));
    const sizes: Array<number | undefined> = [];
    for await (const piece of scanZstdFrames(asyncChunks(compressed, 100_000))) {
      if (piece.frame !== undefined) sizes.push(piece.frame.contentSize);
    }
    expect(sizes).toEqual([zstdBlockSize, zstdBlockSize, MiB]);
    const empty = await collectBytes(compressWith(backend, new Uint8Array(0), 'zstd'));
    expect(await collectBytes(decompressWith(backend, empty, 'zstd'))).toEqual(new Uint8Array(0));
  });

  it('skips zero padding after a gzip member, and fails on other trailing bytes', async () => {
    const compressed = await collectBytes(compressWith(backend, text(5000), 'gzip'));
    const padded = concatBytes([compressed, new Uint8Array(1000)]);
    expectBytes(await collectBytes(decompressWith(backend, padded, 'gzip')), text(5000));
    const garbage = concatBytes([compressed, new TextEncoder().encode('trailing')]);
    const error = await failure(collectBytes(decompressWith(backend, garbage, 'gzip')));
    expect(StevedoreError.is(error, 'ERR_DECOMPRESSION_FAILED')).toBe(true);
  });

  it('reads zstd skippable frames and frames from other encoders', async () => {
    const skippable = Uint8Array.of(0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3);
    const input = mixed(300 * KiB);
    // Streaming compression: no content size, a checksum, blocks of 128 KiB.
    const foreign = zstdCompressSync(input, {
      params: { [zlibConstants.ZSTD_c_checksumFlag]: 1, [zlibConstants.ZSTD_c_compressionLevel]: 5 },
      chunkSize: 1024,
    });
    const stream = concatBytes([skippable, foreign, skippable, foreign]);
    expect(detectCompression(stream)).toBe('zstd');
    expectBytes(
      await collectBytes(decompressWith(backend, asyncChunks(stream, 777), 'auto')),
      concatBytes([input, input]),
    );
  });

  it('decodes a zstd frame of unknown size that expands more than 20 times', async () => {
    const input = concatBytes([new Uint8Array(5 * MiB), text(100 * KiB), new Uint8Array(3 * MiB)]);
    const frame = await streamedZstd(input);
    expect(frame.length * 20).toBeLessThan(input.length);
    expectBytes(await collectBytes(decompressWith(backend, asyncChunks(frame, 5000), 'zstd')), input);
    // The frame has a checksum: any damage fails, at its end (the checksum) or inside.
    for (const position of [frame.length - 1, frame.length - 5, frame.length >> 1, 9]) {
      const corrupt = frame.slice();
      corrupt[position] = (corrupt[position] as number) ^ 1;
      const error = await failure(collectBytes(decompressWith(backend, corrupt, 'zstd')));
      expect(StevedoreError.is(error, 'ERR_DECOMPRESSION_FAILED')).toBe(true);
    }
  });

  it('decodes a zstd frame that declares a large size (over 16 MiB)', { timeout: 60_000 }, async () => {
    const input = text(17 * MiB);
    const frame = zstdCompressSync(input, { pledgedSrcSize: input.length, chunkSize: 18 * MiB });
    expect(await scanZstdFrames(asyncChunks(frame, frame.length)).next()).toMatchObject({
      value: { frame: { contentSize: input.length } },
    });
    expectBytes(await collectBytes(decompressWith(backend, asyncChunks(frame, 100_000), 'zstd')), input);
  });

  it('decodes gzip from other encoders: levels, names, several members', async () => {
    const a = text(70 * KiB);
    const b = noise(10 * KiB);
    const members = concatBytes([
      gzipSync(a, { level: 1 }),
      gzipSync(new Uint8Array(0)),
      gzipSync(b, { level: 9 }),
    ]);
    expectBytes(
      await collectBytes(decompressWith(backend, asyncChunks(members, 999), 'gzip')),
      concatBytes([a, b]),
    );
  });
});

// A zstd frame as a streaming encoder writes it: no content size, with a checksum.
async function streamedZstd(input: Uint8Array): Promise<Uint8Array> {
  const { createZstdCompress } = await import('node:zlib');
  const encoder = createZstdCompress({ params: { [zlibConstants.ZSTD_c_checksumFlag]: 1 } });
  const done = collectBytes(encoder);
  for (const chunk of chunked(input, 64 * KiB)) encoder.write(chunk);
  encoder.end();
  return done;
}

describe('both backends', () => {
  it('write the same gzip bytes: pako matches Node zlib, so digests do not depend on the runtime', async () => {
    for (const input of [new Uint8Array(0), text(1), mixed(gzipBlockSize * 3 + 17), noise(200 * KiB)]) {
      for (const level of [1, 6, 9]) {
        const fromNode = await collectBytes(compressWith(nodeBackend, input, 'gzip', { level }));
        const fromPortable = await collectBytes(compressWith(portableBackend, input, 'gzip', { level }));
        expectBytes(fromPortable, fromNode);
      }
    }
  });

  it('decode each other’s output', async () => {
    const input = mixed(5 * MiB);
    for (const compression of ['gzip', 'zstd'] as const) {
      const fromNode = await collectBytes(compressWith(nodeBackend, input, compression));
      const fromPortable = await collectBytes(compressWith(portableBackend, input, compression));
      expectBytes(await collectBytes(decompressWith(portableBackend, fromNode, compression)), input);
      expectBytes(await collectBytes(decompressWith(nodeBackend, fromPortable, compression)), input);
    }
  });
});

describe('detectCompression', () => {
  it('detects by magic bytes', () => {
    expect(detectCompression(Uint8Array.of(0x1f, 0x8b))).toBe('gzip');
    expect(detectCompression(Uint8Array.of(0x1f, 0x8b, 8, 0))).toBe('gzip');
    expect(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))).toBe('zstd');
    expect(detectCompression(Uint8Array.of(0x5e, 0x2a, 0x4d, 0x18))).toBe('zstd');
    expect(detectCompression(Uint8Array.of(0x28, 0xb5, 0x2f))).toBe('none');
    expect(detectCompression(Uint8Array.of(0x1f))).toBe('none');
    expect(detectCompression(new Uint8Array(0))).toBe('none');
    expect(detectCompression(new TextEncoder().encode('etc/passwd'))).toBe('none');
    expect(detectCompression(new Uint8Array(512))).toBe('none');
    expect(() => detectCompression('1f8b' as never)).toThrow(TypeError);
  });

  it('drives decompress "auto", with the magic split over chunks', async () => {
    const input = text(3000);
    const gzip = await collectBytes(compressWith(nodeBackend, input, 'gzip'));
    const zstd = await collectBytes(compressWith(nodeBackend, input, 'zstd'));
    for (const compressed of [gzip, zstd, input]) {
      expectBytes(await collectBytes(decompressWith(nodeBackend, asyncChunks(compressed, 1))), input);
      expectBytes(
        await collectBytes(decompressWith(portableBackend, asyncChunks(compressed, 3), 'auto')),
        input,
      );
    }
    for (const short of [new Uint8Array(0), Uint8Array.of(0x1f), Uint8Array.of(0x28, 0xb5, 0x2f)]) {
      expect(await collectBytes(decompressWith(nodeBackend, short))).toEqual(short);
    }
  });
});

describe('arguments', () => {
  it('rejects unknown compressions and bad levels at the call', () => {
    expect(() => compressWith(nodeBackend, text(1), 'lz4' as never)).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), 'auto' as never)).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), undefined as never)).toThrow(TypeError);
    expect(() => decompressWith(nodeBackend, text(1), 'brotli' as never)).toThrow(RangeError);
    expect(() => decompressWith(nodeBackend, text(1), 7 as never)).toThrow(TypeError);
    expect(() => compressWith(nodeBackend, text(1), 'gzip', { level: 10 })).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), 'gzip', { level: -1 })).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), 'gzip', { level: 1.5 })).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), 'zstd', { level: 23 })).toThrow(RangeError);
    expect(() => compressWith(nodeBackend, text(1), 'zstd', { level: '3' as never })).toThrow(TypeError);
    expect(() => compressWith(nodeBackend, text(1), 'none', { level: 99 })).not.toThrow();
  });

  it('passes bytes through for none', async () => {
    const input = [text(10), new Uint8Array(0), noise(5)];
    const output: Uint8Array[] = [];
    for await (const chunk of compressWith(nodeBackend, asyncChunks(concatBytes(input), 10), 'none'))
      output.push(chunk);
    expect(output).toEqual([text(10), noise(5)]);
    expect(await collectBytes(decompressWith(portableBackend, concatBytes(input), 'none'))).toEqual(
      concatBytes(input),
    );
  });

  it('gives plain Uint8Arrays, never Buffers', async () => {
    for (const [, backend] of backends) {
      for (const compression of ['gzip', 'zstd'] as const) {
        const compressed = compressWith(backend, text(100 * KiB), compression);
        const chunks: Uint8Array[] = [];
        for await (const chunk of decompressWith(backend, compressed, compression)) chunks.push(chunk);
        for (const chunk of chunks) expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
      }
    }
  });
});

it('Node resolves #compression-backend to the node:zlib branch', () => {
  expect(selected.compressionBackend).toBe(nodeBackend);
});
