// `@stevedore/image/node`: blob sources over the local filesystem (Node only).
import { createReadStream } from 'node:fs';
import type { BlobSource } from './blob-source.ts';

/** Options for {@link readFileChunks}. */
export interface ReadFileChunksOptions {
  readonly signal?: AbortSignal;
  /** Bytes per read; default 1 MiB. */
  readonly chunkSize?: number;
}

/** Reads a file as `Uint8Array` chunks (views, not Buffers) of `chunkSize` bytes. */
export async function* readFileChunks(
  path: string,
  options: ReadFileChunksOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const stream = createReadStream(path, {
    highWaterMark: options.chunkSize ?? 1024 * 1024,
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
