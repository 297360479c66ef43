import type { BlobSink } from './blob-sink.ts';

/**
 * Picks where new blobs go when the caller says nothing; each runtime branch of
 * `#default-blob-sink` provides it.
 * @internal
 */
export type DefaultBlobSink = (blobDirectory: string | undefined) => Promise<BlobSink>;
