// `@stevedore/image/node`: blob sources over the local filesystem (Node only).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { verifyStream } from '@stevedore/digest';
import type { Descriptor } from '@stevedore/manifest';
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
  /**
   * The consumer is done with each chunk when it asks for the next (`OpenBlobOptions`):
   * two buffers are then read into in turn instead of a fresh one per chunk, and a
   * chunk is valid only until the next is asked for.
   */
  readonly transientChunks?: boolean;
  /** With `transientChunks`: the caller's buffers to read into (see {@link ReadFileReusingOptions.ring}). */
  readonly ring?: readonly Uint8Array[];
}

/** Reads a file, or a byte range of it, as `Uint8Array` chunks (views, not Buffers) of `chunkSize` bytes. */
export async function* readFileChunks(
  path: string,
  options: ReadFileChunksOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (options.length === 0) return;
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  if (options.transientChunks === true) {
    // Two buffers suffice: the next chunk is read while the consumer holds the current
    // one, into the buffer of the chunk before, which it is done with.
    const release = async () => {};
    for await (const { chunk } of readFileReusing(path, { ...options, buffers: 2, chunkSize, release })) {
      yield chunk;
    }
    return;
  }
  const stream = createReadStream(path, {
    highWaterMark: chunkSize,
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
    async fileOf(descriptor) {
      return map.get(descriptor.digest);
    },
  };
}

/** Options for {@link createAtomicFileWriter}. */
export interface AtomicFileWriterOptions {
  /** Where the temporary file goes; the same filesystem as the final name, so `rename` moves it. */
  readonly temporaryDirectory: string;
  /** Flush the file to disk before it takes its final name (crash safety); default true. */
  readonly sync?: boolean;
  /** How many bytes may wait to be written before `write` waits; default 4 MiB. */
  readonly maxQueued?: number;
}

/** A file written under a temporary name and renamed whole, or removed. */
export interface AtomicFileWriter {
  /**
   * Copies a chunk into the writer's buffers, which are written out as they fill; waits
   * only while every buffer is being written. The chunk is the caller's again once the
   * call resolves (it may be a reused buffer). Calls must not overlap.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Resolves when every chunk given so far is written. */
  flush(): Promise<void>;
  /**
   * Writes `bytes` at `position` (over what was written there, or past the end) once the
   * queue has drained. Calls may overlap; wait for them before `commit` or `abort`.
   */
  writeAt(position: number, bytes: Uint8Array): Promise<void>;
  /** Flushes, closes and renames the file to `path` (its directory is created). */
  commit(path: string): Promise<void>;
  /** Stops and removes the temporary file. */
  abort(): Promise<void>;
}

/** Bytes per buffer of an {@link AtomicFileWriter}: one write each. */
const WRITE_BUFFER = 1024 * 1024;
/** Bytes an {@link AtomicFileWriter} writes between syncs it starts as it goes. */
const SYNC_EVERY = 32 * 1024 * 1024;

/** Writes through reused buffers into an open file (see {@link createAtomicFileWriter}). */
interface BufferedWrites {
  write(chunk: Uint8Array): Promise<void>;
  /** Writes what is buffered and waits for every write; throws the first failure. */
  settle(): Promise<void>;
  /** Waits for a sync under way. */
  synced(): Promise<void>;
  /** Counts bytes written beside the buffers (positional writes), for the next sync. */
  wrote(bytes: number): void;
  /** Waits for the writes under way, ignoring their failures. */
  drain(): Promise<void>;
}

/**
 * Chunks are copied into a few reused 1 MiB buffers (`maxQueued` bytes in all), each
 * written in one call once full while the producer fills the next, so memory stays flat,
 * the disk sees big writes, and the producer may reuse its own buffers. Unless `sync` is
 * false, every 32 MiB written it starts a sync beside the writes, so a final sync finds
 * little left to do (on a 500 MB pull it was a third of a second).
 */
function bufferWrites(
  handle: FileHandle,
  options: { readonly sync?: boolean; readonly maxQueued?: number },
): BufferedWrites {
  const count = Math.max(2, Math.ceil((options.maxQueued ?? 4 * 1024 * 1024) / WRITE_BUFFER));
  // Allocated on first use (a small file needs one, and its untouched pages cost nothing).
  const buffers: (Uint8Array | undefined)[] = Array.from({ length: count }, () => undefined);
  const writes: (Promise<void> | undefined)[] = Array.from({ length: count }, () => undefined);
  let current = 0; // the buffer being filled
  let filled = 0; // bytes in it
  let tail: Promise<void> = Promise.resolve();
  let failure: unknown;
  let written = 0;
  let syncing: Promise<void> | undefined;
  const syncSoFar = () => {
    if (options.sync === false || syncing !== undefined || written < SYNC_EVERY) return;
    written = 0;
    syncing = handle
      .datasync()
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        syncing = undefined;
      });
  };
  // Writes the filled part of the current buffer after the writes before it, and moves on.
  const writeOut = () => {
    const buffer = buffers[current] as Uint8Array;
    const length = filled;
    tail = tail.then(async () => {
      if (failure !== undefined) return;
      try {
        await handle.write(buffer, 0, length);
        written += length;
        syncSoFar();
      } catch (error) {
        failure = error;
      }
    });
    writes[current] = tail;
    current = (current + 1) % count;
    filled = 0;
  };
  return {
    async write(chunk) {
      for (let offset = 0; offset < chunk.byteLength; ) {
        if (failure !== undefined) throw failure;
        const pending = writes[current];
        if (pending !== undefined) {
          await pending; // this buffer's last write is still under way
          writes[current] = undefined;
          continue;
        }
        const buffer = buffers[current] ?? new Uint8Array(WRITE_BUFFER);
        buffers[current] = buffer;
        const length = Math.min(WRITE_BUFFER - filled, chunk.byteLength - offset);
        buffer.set(chunk.subarray(offset, offset + length), filled);
        filled += length;
        offset += length;
        if (filled === WRITE_BUFFER) writeOut();
      }
      if (failure !== undefined) throw failure;
    },
    async settle() {
      if (filled > 0) writeOut();
      await tail;
      if (failure !== undefined) throw failure;
    },
    async synced() {
      await syncing;
      if (failure !== undefined) throw failure;
    },
    wrote(bytes) {
      written += bytes;
      syncSoFar();
    },
    async drain() {
      await tail.catch(() => {});
      await syncing;
    },
  };
}

/**
 * A file written to a temporary name through reused buffers (copied in, written 1 MiB at
 * a time, synced as it grows), then flushed, synced, closed and renamed by `commit`: the
 * file is either whole under its name or not there at all.
 */
export async function createAtomicFileWriter(options: AtomicFileWriterOptions): Promise<AtomicFileWriter> {
  const temporary = join(options.temporaryDirectory, `.tmp-${randomUUID()}`);
  const handle = await open(temporary, 'wx');
  const writes = bufferWrites(handle, options);
  return {
    write: (chunk) => writes.write(chunk),
    flush: () => writes.settle(),
    async writeAt(position, bytes) {
      await writes.settle();
      await handle.write(bytes, 0, bytes.byteLength, position);
      writes.wrote(bytes.byteLength);
    },
    async commit(path) {
      try {
        await writes.settle();
        await writes.synced();
        if (options.sync !== false) await handle.sync();
        await handle.close();
        await mkdir(dirname(path), { recursive: true });
        await rename(temporary, path);
      } catch (error) {
        await handle.close().catch(() => {});
        await rm(temporary, { force: true });
        throw error;
      }
    },
    async abort() {
      await writes.drain();
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
    },
  };
}

/** Options for {@link openFileAppender}. */
export interface FileAppenderOptions {
  /** Sync as it grows and on `close`; default false. */
  readonly sync?: boolean;
  /** How many bytes may wait to be written before `write` waits; default 4 MiB. */
  readonly maxQueued?: number;
}

/** Bytes appended to a file through reused buffers. */
export interface FileAppender {
  /** Copies a chunk in; the chunk is the caller's again once the call resolves. Calls must not overlap. */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes what is buffered and closes the file; after a failure, what was written stays. */
  close(): Promise<void>;
}

/**
 * Appends to a file (created if missing) through the buffers of
 * {@link createAtomicFileWriter}: big writes, flat memory, chunks free for reuse.
 */
export async function openFileAppender(
  path: string,
  options: FileAppenderOptions = {},
): Promise<FileAppender> {
  const handle = await open(path, 'a');
  const writes = bufferWrites(handle, { ...options, sync: options.sync ?? false });
  return {
    write: (chunk) => writes.write(chunk),
    async close() {
      try {
        await writes.settle();
        await writes.synced();
        if (options.sync === true) await handle.sync();
      } finally {
        await writes.drain();
        await handle.close();
      }
    },
  };
}

/** Options for {@link createFileBlobWriter}. */
export interface FileBlobWriterOptions extends AtomicFileWriterOptions {
  /** The final path of a blob with this digest. */
  readonly pathOf: (digest: string) => string;
}

/**
 * A blob writer into a file ({@link createAtomicFileWriter}) that takes its final name
 * from the digest at `commit`. The caller vouches for the digest it commits under (it
 * hashed what it wrote).
 */
export async function createFileBlobWriter(options: FileBlobWriterOptions): Promise<BlobWriter> {
  const file = await createAtomicFileWriter(options);
  return {
    write: (chunk) => file.write(chunk),
    async commit(digest) {
      const path = options.pathOf(digest);
      await file.commit(path);
      return fileBlobSource({ [digest]: path });
    },
    abort: () => file.abort(),
  };
}

/** Options for {@link copyVerifiedFile}. */
export interface CopyVerifiedFileOptions {
  /** Where the copy is made before it takes its name: on the same filesystem as `to`. */
  readonly temporaryDirectory: string;
  readonly signal?: AbortSignal;
  /** Called with the bytes of the copy verified so far. */
  readonly onBytes?: (bytes: number) => void;
}

/** Options for {@link readFileReusing}. */
export interface ReadFileReusingOptions {
  /** How many buffers of `chunkSize` bytes take turns (default 4). */
  readonly buffers?: number;
  /** Bytes per buffer (default 1 MiB). */
  readonly chunkSize?: number;
  /**
   * The caller's buffers, of one size, instead of `buffers` fresh ones of `chunkSize`:
   * reused from file to file by a caller that reads one file after another.
   */
  readonly ring?: readonly Uint8Array[];
  /**
   * Resolves when the consumer is done with the chunk last read into buffer `slot` (its
   * write finished): that buffer is read into again only then.
   */
  readonly release: (slot: number) => Promise<unknown>;
  readonly signal?: AbortSignal;
  /** The first byte to read; default 0. */
  readonly start?: number;
  /** How many bytes to read from `start`; default to the end of the file. */
  readonly length?: number;
}

/**
 * A file's bytes through a few buffers that take turns, the next read under way while the
 * consumer works on the current chunk: no allocation per chunk, so memory stays flat and
 * the garbage collector idle however big the file. The n-th chunk (counting from 0) is
 * read into buffer `slot` n % `buffers`, yielded with it, and valid until
 * `release(slot)` has resolved and that buffer is read into again: only for consumers
 * that are done with each chunk when they say so, such as a writer.
 */
export async function* readFileReusing(
  path: string,
  options: ReadFileReusingOptions,
): AsyncGenerator<{ chunk: Uint8Array; slot: number }> {
  const ring =
    options.ring ??
    Array.from({ length: options.buffers ?? 4 }, () => new Uint8Array(options.chunkSize ?? 1024 * 1024));
  const size = (ring[0] as Uint8Array).length;
  const handle = await open(path, 'r');
  let position = options.start ?? 0;
  const end = options.length === undefined ? Number.POSITIVE_INFINITY : position + options.length;
  const read = async (index: number) => {
    const slot = index % ring.length;
    await options.release(slot);
    options.signal?.throwIfAborted();
    const buffer = ring[slot] as Uint8Array;
    const want = Math.min(size, end - position);
    if (want <= 0) return { chunk: buffer.subarray(0, 0), slot };
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    position += bytesRead;
    return { chunk: buffer.subarray(0, bytesRead), slot };
  };
  let next = read(0);
  try {
    for (let index = 1; ; index++) {
      const current = await next;
      if (current.chunk.byteLength === 0) return;
      next = read(index); // read ahead while the consumer works
      next.catch(() => {}); // observed on the next turn
      yield current;
    }
  } finally {
    await next.catch(() => {});
    await handle.close();
  }
}

/** Buffers {@link copyVerifiedFile} reads into in turn. */
const COPY_BUFFERS = 4;

/**
 * Copies a blob file to `to`, verifying the bytes against the descriptor's digest and size
 * as they pass, then syncs the copy and renames it into place: nothing unverified ever
 * has the final name. Reads go through {@link readFileReusing}, and each chunk is written
 * at its position ({@link AtomicFileWriter.writeAt}) while the next is read and hashed; a
 * buffer is read into again once the write of the chunk it held is done, so memory
 * stays flat whatever the size.
 *
 * @throws {DigestError} `ERR_DIGEST_MISMATCH` / `ERR_SIZE_MISMATCH` when the file is not
 *   the blob it should be (the copy is removed).
 */
export async function copyVerifiedFile(
  from: string,
  to: string,
  descriptor: Descriptor,
  options: CopyVerifiedFileOptions,
): Promise<void> {
  const file = await createAtomicFileWriter({ temporaryDirectory: options.temporaryDirectory });
  // Per buffer, the write of the chunk last read into it. Positional writes overlap; the
  // writer's queue (`write`, buffers released by `flush`) takes them one at a time, which
  // measured about 20% slower on bench/copy-once.ts (1 GiB, `dir:`).
  const writes: Promise<void>[] = [];
  try {
    const ring = readFileReusing(from, {
      buffers: COPY_BUFFERS,
      release: async (slot) => writes[slot],
      ...(options.signal && { signal: options.signal }),
    });
    const chunks = async function* () {
      for await (const { chunk } of ring) yield chunk;
    };
    let count = 0;
    let position = 0;
    const expected = { digest: descriptor.digest, size: descriptor.size };
    for await (const chunk of verifyStream(chunks(), expected)) {
      const write = file.writeAt(position, chunk);
      write.catch(() => {}); // observed before its buffer is read into again, or below
      writes[count++ % COPY_BUFFERS] = write; // the n-th chunk is in buffer n % buffers
      position += chunk.byteLength;
      options.onBytes?.(position);
    }
    await Promise.all(writes);
    await file.commit(to);
  } catch (error) {
    await Promise.allSettled(writes);
    await file.abort();
    throw error;
  }
}
