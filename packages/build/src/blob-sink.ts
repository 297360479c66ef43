import type { BlobSource } from '@stevedore/image';

/** A place being filled with one blob's bytes, under a temporary name until `commit`. */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Keeps the bytes under `digest` and gives the source that opens them. */
  commit(digest: string): Promise<BlobSource>;
  /** Throws the bytes away. */
  abort(): Promise<void>;
}

/** Where a build keeps the layer blobs it makes: memory, or files in Node. */
export interface BlobSink {
  create(): Promise<BlobWriter>;
}
