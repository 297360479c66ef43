import { collectBytes, verifyStream } from '@stevedore/digest';
import type { Descriptor } from '@stevedore/manifest';
import type { BlobSource, OpenBlobOptions } from './blob-source.ts';
import { blobNotFound, ImageError } from './errors.ts';

/**
 * Opens a blob from a source and verifies it as it streams: the iteration fails with
 * `ERR_DIGEST_MISMATCH` or `ERR_SIZE_MISMATCH` (from `@stevedore/digest`) on a bad byte.
 *
 * @throws {ImageError} `ERR_BLOB_NOT_FOUND` when the source does not hold the blob.
 */
export async function openVerifiedBlob(
  blobs: BlobSource,
  descriptor: Descriptor,
  options: OpenBlobOptions = {},
): Promise<AsyncIterable<Uint8Array>> {
  const stream = await blobs.openBlob(descriptor, options);
  if (stream === undefined) throw blobNotFound(descriptor.digest, 'the blob source');
  const size = descriptor.size < 0 ? undefined : descriptor.size;
  return verifyStream(stream, { digest: descriptor.digest, size }, options);
}

/** Options for {@link readBlobBytes}. */
export interface ReadBlobBytesOptions extends OpenBlobOptions {
  /** The largest blob to read into memory; default 64 MiB. */
  readonly limit?: number;
}

/**
 * Reads a small blob (a config, a manifest) whole into memory, verified.
 * @throws {ImageError} `ERR_BLOB_NOT_FOUND`; `ERR_INVALID_IMAGE` when it is over `limit`.
 */
export async function readBlobBytes(
  blobs: BlobSource,
  descriptor: Descriptor,
  options: ReadBlobBytesOptions = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? 64 * 1024 * 1024;
  if (descriptor.size > limit) {
    throw new ImageError(
      'ERR_INVALID_IMAGE',
      `blob ${descriptor.digest} is ${descriptor.size} bytes, more than the ${limit} read into memory`,
      { digest: descriptor.digest, expected: limit, actual: descriptor.size },
    );
  }
  return collectBytes(await openVerifiedBlob(blobs, descriptor, options));
}
