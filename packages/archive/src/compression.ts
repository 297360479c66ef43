import { type ByteSource, concatBytes, iterateBytes } from '@stevedore/digest';
import { compressionBackend } from '#compression-backend';
import { ArchiveError } from './archive-errors.ts';
import type { CompressionBackend } from './compression-backend.ts';
import { encodeGzip, encodeZstd } from './parallel-encode.ts';

/** A layer compression: what `+gzip` and `+zstd` media types name, or none. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Options for {@link compress}. */
export interface CompressOptions {
  /**
   * The compression level: gzip 0–9 (default 6), zstd −131072–22 (default 3; zstd's
   * negative levels are its fastest). Ignored for `'none'`.
   */
  readonly level?: number;
  readonly signal?: AbortSignal;
}

/** Options for {@link decompress}. */
export interface DecompressOptions {
  readonly signal?: AbortSignal;
}

const KiB = 1024;
// Chunks given out are at least this long, except the last.
const minimumChunkSize = 64 * KiB;

const levels = {
  gzip: { min: 0, max: 9, default: 6 },
  zstd: { min: -131072, max: 22, default: 3 },
} as const;

/**
 * Streams `source` through the encoder; output chunks of 64 KiB or more where possible.
 * Deterministic: same input + options → same bytes, whatever the chunking of the input.
 *
 * gzip is one member with a fixed header (MTIME 0, OS 255), written pigz-style from
 * 128 KiB blocks compressed in parallel; zstd is a sequence of frames of 4 MiB of input
 * each, compressed in parallel. Both decode with the standard tools (`gzip -d`, `zstd -d`).
 * Arguments are checked at the call; failures of the stream come from the iteration.
 *
 * @throws {TypeError} for a compression that is not a string or a level that is not a number.
 * @throws {RangeError} for an unknown compression or a level out of range or not an integer.
 * @throws {ArchiveError} `ERR_COMPRESSION_FAILED` when the codec fails (the cause is chained).
 * @example
 * ```ts
 * const layer = compress(createReadStream('layer.tar'), 'gzip');
 * for await (const chunk of layer) await file.write(chunk);
 * ```
 */
export function compress(
  source: ByteSource,
  compression: Compression,
  options: CompressOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return compressWith(compressionBackend, source, compression, options);
}

/**
 * Streams `source` through the decoder; 'auto' detects by magic bytes. gzip may hold
 * several members (zero bytes after the last are padding), zstd several frames.
 *
 * Memory stays bounded in Node. The portable branch (Deno, Bun, browsers) decodes zstd
 * one frame at a time, holding the frame and its output: fine for {@link compress}'s
 * frames of 4 MiB, but a stream written as one big frame (`zstd` CLI, Go encoders) is
 * held whole, up to the WebAssembly heap's limit.
 *
 * Each chunk of `source` is done with before the next is asked for (what a source that
 * reuses its buffers needs, such as a registry blob read with `transientChunks`).
 *
 * @throws {TypeError} for a compression that is not a string.
 * @throws {RangeError} for an unknown compression.
 * @throws {ArchiveError} `ERR_DECOMPRESSION_FAILED` for corrupt or truncated input (the
 *   codec's own error is the cause).
 * @example
 * ```ts
 * for await (const chunk of decompress(response.body, 'auto')) tar.write(chunk);
 * ```
 */
export function decompress(
  source: ByteSource,
  compression: Compression | 'auto' = 'auto',
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return decompressWith(compressionBackend, source, compression, options);
}

/**
 * gzip (1f 8b), zstd (28 b5 2f fd, or a skippable frame's 5? 2a 4d 18), otherwise
 * 'none'. Needs at most the first 4 bytes.
 * @throws {TypeError} when `head` is not a Uint8Array.
 */
export function detectCompression(head: Uint8Array): Compression {
  if (!(head instanceof Uint8Array)) throw new TypeError('detectCompression: expected a Uint8Array');
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length < 4) return 'none';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (((head[0] as number) & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) {
    return 'zstd';
  }
  return 'none';
}

/**
 * {@link compress} with a given backend, so tests can run both runtime branches.
 * @throws {TypeError} {RangeError} as {@link compress}.
 * @internal
 */
export function compressWith(
  backend: CompressionBackend,
  source: ByteSource,
  compression: Compression,
  options: CompressOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkCompression('compress', compression, false);
  const { signal } = options;
  if (compression === 'none') return passThrough(source, signal);
  const level = checkLevel(compression, options.level);
  return run('compress', compression, source, signal, (chunks) =>
    coalesce(
      compression === 'gzip' ? encodeGzip(chunks, backend, level) : encodeZstd(chunks, backend, level),
    ),
  );
}

/**
 * {@link decompress} with a given backend, so tests can run both runtime branches.
 * @throws {TypeError} {RangeError} as {@link decompress}.
 * @internal
 */
export function decompressWith(
  backend: CompressionBackend,
  source: ByteSource,
  compression: Compression | 'auto' = 'auto',
  options: DecompressOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkCompression('decompress', compression, true);
  const { signal } = options;
  if (compression === 'none') return passThrough(source, signal);
  if (compression === 'auto') return decompressDetected(backend, source, signal);
  return run('decompress', compression, source, signal, (chunks) =>
    coalesce(compression === 'gzip' ? backend.gunzip(chunks) : backend.unzstd(chunks)),
  );
}

async function* decompressDetected(
  backend: CompressionBackend,
  source: ByteSource,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const chunks = iterateBytes(source, signal);
  try {
    // Read until 4 bytes are known (or the input ends), then replay them.
    const head: Uint8Array[] = [];
    let length = 0;
    while (length < 4) {
      const next = await chunks.next();
      if (next.done) break;
      // Copied when a first chunk of under 4 bytes is to be kept while the next is read.
      head.push(next.value.length < 4 ? next.value.slice() : next.value);
      length += next.value.length;
    }
    const compression = detectCompression(concatBytes(head).subarray(0, 4));
    async function* replay(): AsyncGenerator<Uint8Array, void, undefined> {
      yield* head;
      yield* chunks;
    }
    yield* decompressWith(backend, replay(), compression, signal === undefined ? {} : { signal });
  } finally {
    await chunks.return();
  }
}

// Runs a codec over the source and gives its failures a code. An error of the source
// itself (or an abort) passes through unchanged.
async function* run(
  direction: 'compress' | 'decompress',
  compression: 'gzip' | 'zstd',
  source: ByteSource,
  signal: AbortSignal | undefined,
  codec: (chunks: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array, void, undefined>,
): AsyncGenerator<Uint8Array, void, undefined> {
  let sourceFailure: { error: unknown } | undefined;
  async function* input(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* iterateBytes(source, signal);
    } catch (error) {
      sourceFailure = { error };
      throw error;
    }
  }
  try {
    for await (const chunk of codec(input())) {
      signal?.throwIfAborted();
      yield chunk;
    }
    signal?.throwIfAborted();
  } catch (error) {
    signal?.throwIfAborted();
    if (sourceFailure !== undefined && error === sourceFailure.error) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw direction === 'compress'
      ? new ArchiveError('ERR_COMPRESSION_FAILED', `${compression} compression failed: ${reason}`, {
          value: compression,
          cause: error,
        })
      : new ArchiveError('ERR_DECOMPRESSION_FAILED', `${compression} decompression failed: ${reason}`, {
          value: compression,
          cause: error,
        });
  }
}

async function* passThrough(
  source: ByteSource,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of iterateBytes(source, signal)) if (chunk.length > 0) yield chunk;
}

// Joins small chunks until they reach the minimum size; larger ones pass as they are.
async function* coalesce(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  let parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    if (length === 0 && chunk.length >= minimumChunkSize) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    length += chunk.length;
    if (length >= minimumChunkSize) {
      yield concatBytes(parts);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield concatBytes(parts);
}

function checkCompression(caller: string, compression: unknown, auto: boolean): void {
  if (typeof compression !== 'string') {
    throw new TypeError(`${caller}: expected a compression name, got ${typeof compression}`);
  }
  if (compression === 'gzip' || compression === 'zstd' || compression === 'none') return;
  if (auto && compression === 'auto') return;
  const allowed = auto ? "'gzip', 'zstd', 'none' or 'auto'" : "'gzip', 'zstd' or 'none'";
  throw new RangeError(`${caller}: unknown compression ${JSON.stringify(compression)}; expected ${allowed}`);
}

function checkLevel(compression: 'gzip' | 'zstd', level: unknown): number {
  const range = levels[compression];
  if (level === undefined) return range.default;
  if (typeof level !== 'number') throw new TypeError(`compress: level must be a number, got ${typeof level}`);
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new RangeError(
      `compress: ${compression} level must be an integer from ${range.min} to ${range.max}, got ${level}`,
    );
  }
  return level;
}
