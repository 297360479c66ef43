// The `node` branch of `#compression-backend`: node:zlib (Chromium's zlib and libzstd).
// One-shot calls run on the libuv threadpool, so the parallel encoders get as many
// cores as there are blocks in flight, without worker_threads.
import { availableParallelism } from 'node:os';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  constants,
  crc32,
  createGunzip,
  createZstdDecompress,
  deflateRaw,
  type ZlibOptions,
  type ZstdOptions,
  zstdCompress,
} from 'node:zlib';
import type { CompressionBackend } from './compression-backend.ts';
import { scanZstdFrames } from './zstd-frames.ts';

const MiB = 1024 * 1024;
// Output buffer of the streaming decoders. Node's default of 16 KiB costs a threadpool
// round trip per 16 KiB, which slowed gunzip markedly (timed once by hand, not in bench/).
const decodeChunkSize = MiB;
// Decoded bytes the decoder may run ahead of its consumer: it keeps inflating on the
// threadpool while the main thread hashes and writes (somewhat faster than one chunk
// ahead; timed once by hand, not in bench/).
const decodeAhead = 4 * MiB;
const decoderOptions = { chunkSize: decodeChunkSize, readableHighWaterMark: decodeAhead };

const deflateRawAsync = promisify<Uint8Array, ZlibOptions, Uint8Array>(deflateRaw);
const zstdCompressAsync = promisify<Uint8Array, ZstdOptions, Uint8Array>(zstdCompress);

/** @internal */
export const compressionBackend: CompressionBackend = {
  name: 'node:zlib',
  // The one-shot calls share the libuv threadpool (UV_THREADPOOL_SIZE, 4 by default).
  concurrency: Math.max(1, Math.min(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE) || 4)),

  async deflateBlock(block, dictionary, level, last) {
    const output = await deflateRawAsync(block, {
      level,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      // One output buffer for the whole block: a bit over deflate's worst case.
      chunkSize: block.length + (block.length >> 8) + 1024,
      ...(dictionary === undefined ? {} : { dictionary }),
    });
    return toUint8Array(output);
  },

  crc32: (bytes, value) => crc32(bytes, value),

  async zstdFrame(block, level) {
    const output = await zstdCompressAsync(block, {
      // The output buffer size changes libzstd's output (single pass or not), so it is
      // fixed by the block size: one buffer over ZSTD_compressBound.
      chunkSize: block.length + (block.length >> 7) + 1024,
      // Without it the frame would not record its content size.
      pledgedSrcSize: block.length,
      params: { [constants.ZSTD_c_compressionLevel]: level },
    });
    return toUint8Array(output);
  },

  gunzip(chunks) {
    // Node's gunzip reads concatenated members and skips zero padding after the last.
    return transform(createGunzip(decoderOptions), chunks);
  },

  unzstd(chunks) {
    // Writes never cross a frame boundary: node:zlib drops the frames after the first
    // of a single write (nodejs/node#64741).
    return transform(createZstdDecompress(decoderOptions), pieces(chunks));
  },
};

async function* pieces(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const piece of scanZstdFrames(chunks)) yield piece.bytes;
}

// Runs chunks through a zlib stream. Ending the iteration early destroys the stream,
// which closes the input; an input error reaches the loop as the same error object.
async function* transform(
  stream: Transform,
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const done = pipeline(Readable.from(chunks, { objectMode: false }), stream);
  done.catch(() => {}); // the same error surfaces from the stream below
  for await (const chunk of stream) yield toUint8Array(chunk as Uint8Array);
  await done;
}

// A plain Uint8Array view of a Buffer: public APIs give no Buffers.
function toUint8Array(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
