import type { BlobSource } from './blob-source.ts';

/** A place being filled with one blob's bytes, under a temporary name until `commit`. */
export interface BlobWriter {
  /** Takes a chunk; the caller may reuse it once the call resolves (copy what is kept). */
  write(chunk: Uint8Array): Promise<void>;
  /** Keeps the bytes under `digest` and gives the source that opens them. */
  commit(digest: string): Promise<BlobSource>;
  /** Throws the bytes away. */
  abort(): Promise<void>;
}

/**
 * Where new blobs are written as they are made (a build's layers): memory, temporary
 * files, or straight into a destination such as an OCI layout.
 */
export interface BlobSink {
  create(): Promise<BlobWriter>;
}
