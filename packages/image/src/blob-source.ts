import { type ByteSource, iterateBytes } from '@stevedore/digest';
import type { Descriptor } from '@stevedore/manifest';

/** Options of every blob read. */
export interface OpenBlobOptions {
  readonly signal?: AbortSignal;
  /**
   * The reader is done with each chunk when it asks for the next one (it copies or writes
   * it first): a source may then read into a few reused buffers rather than a fresh one
   * per chunk, as a registry does for big blobs. Chunks are then valid only until the
   * next is asked for.
   */
  readonly transientChunks?: boolean;
}

/**
 * Where blob bytes come from: memory, files, a layout, a registry. Opening is lazy and
 * the bytes are not verified here: {@link readBlob} and destinations verify them.
 */
export interface BlobSource {
  /** Opens a blob's bytes, or answers `undefined` when this source does not hold it. */
  openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<AsyncIterable<Uint8Array> | undefined>;
  /**
   * The path of a local file holding the blob's bytes (unverified), for sources that keep
   * blobs as files: a destination that does too reads the file itself through a few
   * reused buffers, hashing and writing as it goes (`ImageDestination.putBlobFile`),
   * instead of taking a stream of fresh chunks.
   */
  fileOf?(descriptor: Descriptor): Promise<string | undefined>;
  /**
   * The registry repository holding the blob, for sources that are registries: a
   * destination on the same registry mounts it from there instead of uploading it
   * (`ImageDestination.mountBlob`).
   */
  originOf?(descriptor: Descriptor): BlobOrigin | undefined;
}

/** A registry repository that holds a blob. */
export interface BlobOrigin {
  readonly registry: string;
  readonly repository: string;
}

/** A blob source that holds nothing. */
export const emptyBlobSource: BlobSource = {
  openBlob: async () => undefined,
};

/**
 * A blob source over byte sources keyed by digest (`sha256:…`). A `Uint8Array` can be read
 * any number of times; a stream only once.
 */
export function memoryBlobSource(
  blobs: ReadonlyMap<string, ByteSource> | Readonly<Record<string, ByteSource>>,
): BlobSource {
  const map: ReadonlyMap<string, ByteSource> = blobs instanceof Map ? blobs : new Map(Object.entries(blobs));
  return {
    async openBlob(descriptor, options = {}) {
      const source = map.get(descriptor.digest);
      return source === undefined ? undefined : iterateBytes(source, options.signal);
    },
  };
}

/** A blob source that asks each of `sources` in turn and opens the blob from the first that holds it. */
export function combineBlobSources(...sources: readonly BlobSource[]): BlobSource {
  const unique = [...new Set(sources)].filter((source) => source !== emptyBlobSource);
  if (unique.length === 1 && unique[0] !== undefined) return unique[0];
  // Files only when every source keeps them: one without could hold the blob first.
  const files = unique.every((source) => source.fileOf !== undefined) && {
    async fileOf(descriptor: Descriptor) {
      for (const source of unique) {
        const path = await source.fileOf?.(descriptor);
        if (path !== undefined) return path;
      }
      return undefined;
    },
  };
  return {
    ...files,
    async openBlob(descriptor, options) {
      for (const source of unique) {
        const stream = await source.openBlob(descriptor, options);
        if (stream !== undefined) return stream;
      }
      return undefined;
    },
  };
}
