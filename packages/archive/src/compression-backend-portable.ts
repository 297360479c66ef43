// The `default` branch of `#compression-backend`, for Deno, Bun, browsers and workers:
// pako for deflate (its output matches Node's zlib byte for byte, so gzip layers get the
// same digest in every runtime) and @hpcc-js/wasm-zstd, a WebAssembly libzstd.
//
// Limits of that zstd wrapper (1.12), which the decoder works around:
// - its streaming decoder (decompressChunk) drops libzstd's error codes and does not
//   say how much input it used, and its state is one per page, shared by all callers;
// - its one-shot decoder guesses the output size of frames that do not declare it;
// - it copies every result out of the WebAssembly heap through a JavaScript array, about
//   10 MiB/s, and a result of a few hundred MiB exhausts the JavaScript heap.
// So each frame is decoded whole and synchronously (no other caller can touch the shared
// state meanwhile): one-shot when it declares a modest size, else fed block by block
// (outputs of at most 128 KiB each) and checked (block sizes, declared size, a probe
// frame after it). Stevedore writes frames of 4 MiB of input, so its streams decode in
// bounded memory; a stream written as one big frame (the `zstd` command, Go encoders)
// is held whole, compressed and decoded.
import { Zstd } from '@hpcc-js/wasm-zstd';
import { concatBytes } from '@stevedore/digest';
import {
  Deflate,
  Z_BUF_ERROR,
  Z_FINISH,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  ZStream,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
  zlibInflateReset,
} from 'pako';
import type { CompressionBackend } from './compression-backend.ts';
import { scanZstdFrames, type ZstdFrameInfo } from './zstd-frames.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const inflateChunkSize = 256 * KiB;
// The output of one decoded frame is handed on in slices of this size.
const sliceSize = MiB;

let zstdInstance: Promise<Zstd> | undefined;
const loadZstd = () => {
  zstdInstance ??= Zstd.load();
  return zstdInstance;
};

/** @internal */
export const compressionBackend: CompressionBackend = {
  name: 'portable',
  // The codecs run on the calling thread: nothing to overlap.
  concurrency: 1,

  async deflateBlock(block, dictionary, level, last) {
    const deflate = new Deflate({
      raw: true,
      level,
      chunkSize: block.length + (block.length >> 8) + 1024,
      ...(dictionary === undefined ? {} : { dictionary }),
    });
    const parts: Uint8Array[] = [];
    deflate.onData = (part) => void parts.push(part);
    deflate.push(block, last ? Z_FINISH : Z_SYNC_FLUSH);
    if (deflate.err !== Z_OK) throw new Error(`deflate failed: ${deflate.msg || deflate.err}`);
    return concatBytes(parts);
  },

  crc32,

  async zstdFrame(block, level) {
    return (await loadZstd()).compress(block, level);
  },

  gunzip: inflateMembers,

  async *unzstd(chunks) {
    const zstd = await loadZstd();
    let parts: Uint8Array[] = [];
    for await (const piece of scanZstdFrames(chunks)) {
      if (piece.frame === undefined) {
        // Kept past this iteration: copied, in case the source reuses its buffers.
        parts.push(piece.bytes.slice());
        continue;
      }
      parts.push(piece.bytes);
      const frame = concatBytes(parts);
      parts = [];
      yield* decodeFrame(zstd, frame, piece.frame);
    }
  },
};

// Frames that declare at most this size are decoded in one call.
const oneShotLimit = 16 * MiB;
const maxBlockSize = 128 * KiB;

// Decoded after a frame fed block by block: a decoder left in an error state (the
// wrapper does not report errors) or mid-frame misreads it.
const probeText = new TextEncoder().encode('stevedore zstd probe');
let probeFrame: Uint8Array | undefined;

function decodeFrame(zstd: Zstd, frame: Uint8Array, info: ZstdFrameInfo): Uint8Array[] {
  if (info.contentSize !== undefined && info.contentSize <= oneShotLimit) {
    // libzstd checks everything here (sizes, checksum) and reports errors.
    const output = zstd.decompress(frame);
    const slices: Uint8Array[] = [];
    for (let offset = 0; offset < output.length; offset += sliceSize) {
      slices.push(output.subarray(offset, offset + sliceSize));
    }
    return slices;
  }
  const descriptor = frame[4] as number;
  const singleSegment = (descriptor & 0x20) !== 0;
  const checksum = (descriptor & 0x04) !== 0;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6] as number;
  let position = 5 + (singleSegment ? 0 : 1) + ([0, 1, 2, 4][descriptor & 3] as number) + fcsSize;
  let start = 0;
  let total = 0;
  const output: Uint8Array[] = [];
  zstd.reset();
  try {
    while (true) {
      // The frame was walked by scanZstdFrames: its block headers are in bounds.
      const header =
        (frame[position] as number) |
        ((frame[position + 1] as number) << 8) |
        ((frame[position + 2] as number) << 16);
      const last = (header & 1) !== 0;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      position += 3 + (type === 1 ? 1 : size) + (last && checksum ? 4 : 0);
      const piece = zstd.decompressChunk(frame.subarray(start, position), maxBlockSize);
      start = position;
      // Raw and RLE blocks give exactly their size; a compressed block gives something
      // (libzstd never writes an empty one), and nothing when the decoder failed.
      if (type === 2 ? piece.length === 0 || piece.length > maxBlockSize : piece.length !== size) {
        throw new Error(`corrupt zstd frame (block at byte ${position} did not decode)`);
      }
      total += piece.length;
      if (piece.length > 0) output.push(piece);
      if (last) break;
    }
    probeFrame ??= zstd.compress(probeText, 1);
    if (!equal(zstd.decompressChunk(probeFrame, probeText.length + 16), probeText)) {
      throw new Error('corrupt zstd frame (the decoder stopped with an error, perhaps a checksum mismatch)');
    }
  } finally {
    zstd.reset();
  }
  if (info.contentSize !== undefined && total !== info.contentSize) {
    throw new Error(`corrupt zstd frame (declares ${info.contentSize} bytes, decodes to ${total})`);
  }
  return output;
}

// gzip members one after another, as gzip(1) reads them; zero bytes after a member are
// padding (as Node's gunzip treats them).
async function* inflateMembers(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const stream = new ZStream();
  const status = zlibInflateInit2(stream, 16 + 15); // gzip wrapper only
  if (status !== Z_OK) throw new Error(`inflate init failed (${status})`);
  let state: 'start' | 'member' | 'between' = 'start';
  const renewOutput = () => {
    stream.output = new Uint8Array(inflateChunkSize);
    stream.next_out = 0;
    stream.avail_out = inflateChunkSize;
  };
  renewOutput();
  try {
    for await (const chunk of chunks) {
      stream.input = chunk;
      stream.next_in = 0;
      stream.avail_in = chunk.length;
      while (stream.avail_in > 0) {
        if (state === 'between') {
          while (stream.avail_in > 0 && chunk[stream.next_in] === 0) {
            stream.next_in++;
            stream.avail_in--;
          }
          if (stream.avail_in === 0) break;
          zlibInflateReset(stream);
        }
        state = 'member';
        const result = zlibInflate(stream, Z_NO_FLUSH);
        if (result === Z_STREAM_END) state = 'between';
        else if (result !== Z_OK && result !== Z_BUF_ERROR) {
          throw new Error(stream.msg || `inflate failed (${result})`);
        }
        if (stream.avail_out === 0) {
          yield stream.output;
          renewOutput();
        } else if (result === Z_BUF_ERROR && stream.avail_in > 0) {
          throw new Error('inflate made no progress');
        }
      }
    }
    if (stream.next_out > 0) yield stream.output.subarray(0, stream.next_out);
    if (state !== 'between') throw new Error('unexpected end of file');
  } finally {
    zlibInflateEnd(stream);
  }
}

// CRC-32 (ISO-HDLC, the gzip one), one table lookup per byte.
const crcTable = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  crcTable[n] = c;
}

function crc32(bytes: Uint8Array, value: number): number {
  let crc = ~value;
  for (let i = 0; i < bytes.length; i++)
    crc = (crcTable[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
