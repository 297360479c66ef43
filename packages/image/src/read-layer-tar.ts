import { ArchiveError, decompress } from '@stevedore/archive';
import { DigestError, verifyStream } from '@stevedore/digest';
import { layerCompression } from '@stevedore/manifest';
import type { Layer } from './assemble-image.ts';
import type { OpenBlobOptions } from './blob-source.ts';
import { type BlobProgress, countProgress } from './progress.ts';
import { openVerifiedBlob } from './read-blob.ts';

/** Options for {@link readLayerTar}. */
export interface ReadLayerTarOptions extends OpenBlobOptions {
  /** Called as the compressed blob's bytes are read. */
  readonly onProgress?: (event: BlobProgress) => void;
}

/**
 * A layer's uncompressed tar, checked as it streams: the blob against its digest and the
 * tar against its diff_id (one check when the blob is uncompressed and its digest is its
 * diff_id). The iteration fails on the first mismatch; the bytes are unverified until it
 * ends without an error.
 *
 * @throws {ImageError} `ERR_BLOB_NOT_FOUND`; while iterating, {@link DigestError}
 *   `ERR_DIGEST_MISMATCH` / `ERR_SIZE_MISMATCH` for a blob or tar that is not what it
 *   says, and {@link ArchiveError} `ERR_DECOMPRESSION_FAILED` naming the layer for a blob
 *   that is what its digest says but does not decompress.
 */
export async function readLayerTar(
  layer: Layer,
  options: ReadLayerTarOptions = {},
): Promise<AsyncIterable<Uint8Array>> {
  const verified = await openVerifiedBlob(layer.blobs, layer.descriptor, options);
  const { onProgress } = options;
  const blob = onProgress === undefined ? verified : countProgress(verified, layer.descriptor, onProgress);
  // An uncompressed layer whose digest is its diff_id: the blob is the tar, and checking
  // it against its digest has checked it against its diff_id too.
  if (layer.descriptor.digest === layer.diffId && layerCompression(layer.descriptor.mediaType) === 'none') {
    return blob;
  }
  // By magic bytes, not media type: containerd and docker read mislabelled layers too.
  return verifyStream(diagnosed(decompress(blob, 'auto', options), layer, options), {
    digest: layer.diffId,
  });
}

/**
 * A flipped byte usually breaks the decompressor before the blob's digest check at the
 * end of the stream sees it; the blob is then read once more to tell which error to report.
 */
async function* diagnosed(
  tar: AsyncIterable<Uint8Array>,
  layer: Layer,
  options: OpenBlobOptions,
): AsyncGenerator<Uint8Array> {
  try {
    yield* tar;
  } catch (error) {
    if (!(error instanceof ArchiveError) || error.code !== 'ERR_DECOMPRESSION_FAILED') throw error;
    const { digest } = layer.descriptor;
    try {
      for await (const _chunk of await openVerifiedBlob(layer.blobs, layer.descriptor, options)) {
        // Only the verdict of the verification matters.
      }
    } catch (verification) {
      if (DigestError.is(verification, ['ERR_DIGEST_MISMATCH', 'ERR_SIZE_MISMATCH'])) throw verification;
      throw error;
    }
    throw new ArchiveError(error.code, `layer ${digest}: ${error.message}`, { cause: error });
  }
}
