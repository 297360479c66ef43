// The `node` branch of `#compression-backend`: node:zlib (Chromium's zlib and libzstd).
// One-shot calls run on the libuv threadpool, so the parallel encoders get as many
// cores as there are blocks in flight, without worker_threads.
import { availableParallelism } from 'node:os';
import type { Transform } from 'node:stream';
import { promisify } from 'node:util';
import {
  constants,
  crc32,
  createGunzip,
  createZstdCompress,
  createZstdDecompress,
  deflateRaw,
  type ZlibOptions,
} from 'node:zlib';
import { concatBytes } from '@stevedore/digest';
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
// Bytes per write into a streaming decoder (two input buffers take turns).
const inputBuffer = MiB;

const deflateRawAsync = promisify<Uint8Array, ZlibOptions, Uint8Array>(deflateRaw);

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

  zstdFrame(block, level) {
    // One write flagged ZSTD_e_end with room for the whole frame makes libzstd compress
    // the block in a single pass and record its content size. `zstdCompress()` would
    // write with ZSTD_e_continue and end with an empty ZSTD_e_end: the block then goes
    // through libzstd's 2 MiB ring buffer (its slower "extDict" match finder for half of
    // it, about 30 % more CPU), and flagging the write ZSTD_e_end instead would add an
    // empty frame at the end. So the stream is left before it ends.
    return new Promise((resolve, reject) => {
      const stream = createZstdCompress({
        flush: constants.ZSTD_e_end,
        chunkSize: block.length + (block.length >> 7) + 1024, // over ZSTD_compressBound
        params: { [constants.ZSTD_c_compressionLevel]: level },
      });
      const parts: Uint8Array[] = [];
      stream.on('data', (part: Uint8Array) => parts.push(part));
      stream.on('error', reject);
      stream.write(block, (error) => {
        stream.destroy();
        if (error) reject(error);
        else resolve(parts.length === 1 ? toUint8Array(parts[0] as Uint8Array) : concatBytes(parts));
      });
    });
  },

  gunzip(chunks) {
    // Node's gunzip reads concatenated members and skips zero padding after the last.
    return transform(createGunzip(decoderOptions), pieces(chunks));
  },

  unzstd(chunks) {
    // Writes never cross a frame boundary: node:zlib drops the frames after the first
    // of a single write (nodejs/node#64741).
    return transform(createZstdDecompress(decoderOptions), framePieces(chunks));
  },
};

/** Input for {@link transform}: bytes, and whether a write must end after them. */
interface Piece {
  readonly bytes: Uint8Array;
  readonly end?: boolean;
}

async function* pieces(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Piece, void, undefined> {
  for await (const bytes of chunks) yield { bytes };
}

async function* framePieces(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Piece, void, undefined> {
  for await (const piece of scanZstdFrames(chunks))
    yield { bytes: piece.bytes, end: piece.frame !== undefined };
}

// Runs pieces through a zlib stream, copied into two reused 1 MiB input buffers that take
// turns: zlib works on one while the other fills, writes are big (ending early only where
// a piece says so), and each piece is done with before the next is asked for, so a
// source may reuse its buffers (`transientChunks`). A write's callback comes once zlib has
// taken all of its input. Ending the iteration early destroys the stream, which stops the
// feeding; an input error reaches the loop as the same error object.
async function* transform(
  stream: Transform,
  input: AsyncIterable<Piece>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const feed = (async () => {
    const buffers = [new Uint8Array(inputBuffer), new Uint8Array(inputBuffer)];
    const writes: Array<Promise<void> | undefined> = [undefined, undefined];
    let current = 0;
    let filled = 0;
    const send = () => {
      const bytes = (buffers[current] as Uint8Array).subarray(0, filled);
      writes[current] = new Promise<void>((resolve, reject) => {
        stream.write(bytes, (error) => (error ? reject(error) : resolve()));
      });
      current ^= 1;
      filled = 0;
    };
    for await (const { bytes, end } of input) {
      for (let offset = 0; offset < bytes.length; ) {
        await writes[current]; // zlib is done with this buffer
        writes[current] = undefined;
        const length = Math.min(inputBuffer - filled, bytes.length - offset);
        (buffers[current] as Uint8Array).set(bytes.subarray(offset, offset + length), filled);
        filled += length;
        offset += length;
        if (filled === inputBuffer) send();
      }
      if (end === true && filled > 0) send();
    }
    if (filled > 0) send();
    await Promise.all(writes);
    stream.end();
  })();
  feed.catch((error: unknown) => stream.destroy(error as Error)); // surfaces from the stream below
  try {
    for await (const chunk of stream) yield toUint8Array(chunk as Uint8Array);
    await feed;
  } finally {
    stream.destroy();
  }
}

// A plain Uint8Array view of a Buffer: public APIs give no Buffers.
function toUint8Array(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
