import { type Compression, compress } from '@stevedore/archive';
import { createHasher } from '@stevedore/digest';
import { MediaTypes } from '@stevedore/manifest';
import type { Layer } from './assemble-image.ts';
import type { BlobSink } from './blob-sink.ts';

/** What {@link createLayer} reports about a layer it made. */
export interface CreatedLayer {
  readonly digest: string;
  readonly diffId: string;
  /** Compressed bytes. */
  readonly size: number;
  readonly uncompressedSize: number;
}

/** Options for {@link createLayer}. */
export interface CreateLayerOptions {
  readonly compression?: Compression;
  /** The compression level; the codec's default when absent. */
  readonly level?: number;
  readonly sink: BlobSink;
  readonly signal?: AbortSignal;
  /** Called once the layer is made, with its digests and sizes. */
  readonly onCreated?: (layer: CreatedLayer) => void;
}

const MEDIA_TYPES: Readonly<Record<Compression, string>> = {
  gzip: MediaTypes.OciLayerGzip,
  zstd: MediaTypes.OciLayerZstd,
  none: MediaTypes.OciLayer,
};

/**
 * Makes a layer from an uncompressed tar stream in one pass: the tar is hashed (its
 * diff_id) on its way into the compressor, and the compressed bytes are hashed (the blob
 * digest), counted and written to the sink. Nothing is held whole in memory.
 */
export async function createLayer(
  tar: AsyncIterable<Uint8Array>,
  options: CreateLayerOptions,
): Promise<Layer> {
  const compression = options.compression ?? 'gzip';
  const diffHasher = await createHasher('sha256');
  // Uncompressed, the blob is the tar: its digest is the diff_id, hashed once.
  const blobHasher = compression === 'none' ? undefined : await createHasher('sha256');
  let uncompressedSize = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of tar) {
      diffHasher.update(chunk);
      uncompressedSize += chunk.byteLength;
      yield chunk;
    }
  }
  const writer = await options.sink.create();
  let size = 0;
  try {
    const compressOptions = {
      ...(options.level === undefined ? {} : { level: options.level }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    for await (const chunk of compress(hashed(), compression, compressOptions)) {
      blobHasher?.update(chunk);
      size += chunk.byteLength;
      await writer.write(chunk);
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const diffId = diffHasher.digest().toString();
  const digest = blobHasher === undefined ? diffId : blobHasher.digest().toString();
  const blobs = await writer.commit(digest);
  options.onCreated?.({ digest, diffId, size, uncompressedSize });
  return { descriptor: { mediaType: MEDIA_TYPES[compression], digest, size }, diffId, blobs };
}
