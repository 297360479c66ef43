// `@stevedore/image/node`: blob sources over the local filesystem (Node only).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobWriter } from './blob-sink.ts';
import type { BlobSource } from './blob-source.ts';

/** Options for {@link readFileChunks}. */
export interface ReadFileChunksOptions {
  readonly signal?: AbortSignal;
  /** Bytes per read; default 1 MiB. */
  readonly chunkSize?: number;
  /** The first byte to read; default 0. */
  readonly start?: number;
  /** How many bytes to read from `start`; default to the end of the file. */
  readonly length?: number;
}

/** Reads a file, or a byte range of it, as `Uint8Array` chunks (views, not Buffers) of `chunkSize` bytes. */
export async function* readFileChunks(
  path: string,
  options: ReadFileChunksOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (options.length === 0) return;
  const stream = createReadStream(path, {
    highWaterMark: options.chunkSize ?? 1024 * 1024,
    ...(options.start === undefined ? {} : { start: options.start }),
    ...(options.length === undefined ? {} : { end: (options.start ?? 0) + options.length - 1 }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** A blob source over files, keyed by digest: `{ 'sha256:…': '/path/to/blob' }`. */
export function fileBlobSource(
  files: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
): BlobSource {
  const map: ReadonlyMap<string, string> = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    async openBlob(descriptor, options = {}) {
      const path = map.get(descriptor.digest);
      return path === undefined ? undefined : readFileChunks(path, options);
    },
  };
}

/** Options for {@link createFileBlobWriter}. */
export interface FileBlobWriterOptions {
  /** Where the temporary file goes; the same filesystem as the final names, so `rename` moves it. */
  readonly temporaryDirectory: string;
  /** The final path of a blob with this digest. */
  readonly pathOf: (digest: string) => string;
  /** Flush the file to disk before it takes its final name (crash safety); default true. */
  readonly sync?: boolean;
  /** How many bytes may wait to be written before `write` waits; default 4 MiB. */
  readonly maxQueued?: number;
}

/**
 * A blob writer into a file: writes are queued (up to `maxQueued` bytes) so the producer
 * keeps working while the disk catches up; `commit` flushes, closes and renames the file
 * to its final name, so a blob is either whole under its name or not there at all.
 * The caller vouches for the digest it commits under (it hashed what it wrote).
 */
export async function createFileBlobWriter(options: FileBlobWriterOptions): Promise<BlobWriter> {
  const temporary = join(options.temporaryDirectory, `.tmp-${randomUUID()}`);
  const handle = await open(temporary, 'wx');
  const maxQueued = options.maxQueued ?? 4 * 1024 * 1024;
  let tail: Promise<void> = Promise.resolve();
  let queued = 0;
  let failure: unknown;
  const settle = async () => {
    await tail;
    if (failure !== undefined) throw failure;
  };
  return {
    async write(chunk) {
      if (failure !== undefined) throw failure;
      queued += chunk.byteLength;
      tail = tail.then(async () => {
        if (failure !== undefined) return;
        try {
          await handle.write(chunk);
        } catch (error) {
          failure = error;
        } finally {
          queued -= chunk.byteLength;
        }
      });
      if (queued > maxQueued) await settle();
    },
    async commit(digest) {
      try {
        await settle();
        if (options.sync !== false) await handle.sync();
        await handle.close();
        const path = options.pathOf(digest);
        await mkdir(dirname(path), { recursive: true });
        await rename(temporary, path);
        return fileBlobSource({ [digest]: path });
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(temporary, { force: true });
        throw error;
      }
    },
    async abort() {
      await tail.catch(() => {});
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
    },
  };
}
