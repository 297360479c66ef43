// Block-parallel encoders, in the manner of pigz and of zstd's multithreaded mode: the
// input is cut into fixed-size blocks, a bounded window of blocks is compressed at once,
// and the results are joined in input order. Block boundaries depend only on offsets in
// the input and each block's encoding only on its bytes (and, for gzip, the 32 KiB
// before it), so the output is the same whatever the timing, the chunking of the input
// or the number of blocks in flight.
import type { CompressionBackend } from './compression-backend.ts';

const KiB = 1024;

/** Input bytes per gzip block; pigz uses 128 KiB too. @internal */
export const gzipBlockSize = 128 * KiB;
/** Input bytes per zstd frame: near `zstd -T2` in ratio (level 3 keeps a 2 MiB window). @internal */
export const zstdBlockSize = 4096 * KiB;
// The deflate window: each gzip block is primed with the 32 KiB of input before it.
const dictionarySize = 32 * KiB;

// gzip member header (RFC 1952, section 2.3): deflate, no flags, MTIME 0, XFL 0,
// OS 255 ("unknown", as Go writes it), so that the bytes do not depend on the machine.
const gzipHeader = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);

/**
 * Encodes one gzip member, pigz-style: blocks raw-deflated on their own with the
 * previous 32 KiB as preset dictionary, each non-final block ended by a sync flush so
 * the pieces join into one deflate stream, then CRC-32 and ISIZE.
 * @internal
 */
export async function* encodeGzip(
  chunks: AsyncIterable<Uint8Array>,
  backend: CompressionBackend,
  level: number,
  blockSize: number = gzipBlockSize,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (blockSize < dictionarySize)
    throw new RangeError(`gzip blocks must hold at least ${dictionarySize} bytes`);
  let crc = 0;
  let size = 0;
  let previous: Uint8Array | undefined;
  yield gzipHeader;
  // Small blocks: several per thread hide the round trip of each call.
  yield* encodeBlocks(chunks, blockSize, 4 * backend.concurrency, (block, last) => {
    crc = backend.crc32(block, crc);
    size += block.length;
    const dictionary = previous?.subarray(previous.length - dictionarySize);
    previous = block;
    return backend.deflateBlock(block, dictionary, level, last);
  });
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc, true);
  view.setUint32(4, size % 2 ** 32, true); // ISIZE is the size modulo 2^32
  yield trailer;
}

/**
 * Encodes zstd as a sequence of independent frames, one per block, each recording its
 * content size (RFC 8878, section 3.1: a zstd stream is any sequence of frames).
 * @internal
 */
export function encodeZstd(
  chunks: AsyncIterable<Uint8Array>,
  backend: CompressionBackend,
  level: number,
  blockSize: number = zstdBlockSize,
): AsyncGenerator<Uint8Array, void, undefined> {
  // Large blocks: one per thread, and one more to start as soon as a thread is free.
  return encodeBlocks(chunks, blockSize, backend.concurrency + 1, (block) => backend.zstdFrame(block, level));
}

// Cuts the input into blocks of exactly `size` bytes (the last one shorter, and empty
// only for an empty input), starts `encode` for each, at most `limit` at a time, and
// yields the results in block order. `encode` is called in block order, so it may keep
// state; a block's bytes stay untouched until its result is in, then the buffer is
// reused (fresh 4 MiB buffers cost page faults; timed once by hand, not in bench/).
// Input bytes are copied into the blocks: a source may reuse its buffers.
async function* encodeBlocks(
  chunks: AsyncIterable<Uint8Array>,
  size: number,
  limit: number,
  encode: (block: Uint8Array, last: boolean) => Promise<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const free: Uint8Array[] = [];
  const pending: Array<{ readonly buffer: Uint8Array; readonly job: Promise<Uint8Array> }> = [];
  const start = (block: Uint8Array, buffer: Uint8Array, last: boolean) => {
    const job = encode(block, last);
    // A job left behind by an early exit must not become an unhandled rejection; a
    // job that is awaited still throws.
    job.catch(() => {});
    pending.push({ buffer, job });
  };
  const next = async () => {
    const { buffer, job } = pending.shift() as (typeof pending)[number];
    const result = await job;
    free.push(buffer);
    return result;
  };

  let current: Uint8Array = new Uint8Array(size);
  let filled = 0;
  // A full block is held back until it is known whether more input follows.
  let full: Uint8Array | undefined;
  for await (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (full !== undefined) {
        start(full, full, false);
        full = undefined;
        while (pending.length >= limit) yield await next();
      }
      const take = Math.min(size - filled, chunk.length - offset);
      current.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        full = current;
        current = free.pop() ?? new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (full !== undefined) start(full, full, true);
  else start(current.subarray(0, filled), current, true);
  while (pending.length > 0) yield await next();
}
