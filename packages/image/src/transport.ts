import type { Descriptor } from '@stevedore/manifest';
import type { BlobOrigin } from './blob-source.ts';

/** Options of every transport call. */
export interface TransportOptions {
  readonly signal?: AbortSignal;
}

/** A manifest's exact bytes and media type, as transports move them (never re-serialized). */
export interface ManifestBytes {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
}

/**
 * Where images are read from: a registry, a layout, an archive. Transports implement it;
 * the copy engine drives it. Bytes are not verified here; the reader verifies them.
 */
export interface ImageSource {
  /** The manifest the source's reference names, or the manifest with `digest`. */
  getManifest(digest?: string, options?: TransportOptions): Promise<ManifestBytes>;
  /** A blob's bytes as a stream. */
  getBlob(descriptor: Descriptor, options?: TransportOptions): Promise<AsyncIterable<Uint8Array>>;
  /** Releases what the source holds open (connections, file handles, temporary files). */
  close(): Promise<void>;
}

/** Options for {@link ImageDestination.putBlob}. */
export interface PutBlobOptions extends TransportOptions {
  /**
   * Opens the blob's bytes again from the start, for a destination that must send them
   * another way after its first try consumed part of the stream (a registry behind a
   * proxy that refuses big bodies, 413, is then sent the blob in chunks).
   */
  readonly reopen?: () => Promise<AsyncIterable<Uint8Array>>;
}

/** Options for {@link ImageDestination.putManifest}. */
export interface PutManifestOptions extends TransportOptions {
  /** The tag to point at this manifest (the top-level manifest of a copy only). */
  readonly tag?: string;
}

/**
 * Where images are written: blobs first, then manifests children-first, then `commit`.
 * A destination verifies every blob's digest and size while writing and keeps nothing
 * unverified under a content-addressed name.
 */
export interface ImageDestination {
  /** Whether the destination already holds a blob (it is then not sent). */
  hasBlob(descriptor: Descriptor, options?: TransportOptions): Promise<boolean>;
  /**
   * `putBlob` is done with each chunk of its stream when it asks for the next (it copies
   * or writes it first): the copy engine then opens blobs with `transientChunks`.
   */
  readonly transientChunks?: boolean;
  /** Stores a blob from a stream. */
  putBlob(
    descriptor: Descriptor,
    content: AsyncIterable<Uint8Array>,
    options?: PutBlobOptions,
  ): Promise<void>;
  /**
   * Stores a blob by copying a local file (for destinations that keep blobs as files;
   * see `BlobSource.fileOf`): read through a few reused buffers, hashed and written as it
   * goes, and renamed into place only once verified. `onBytes` reports the bytes verified
   * so far.
   */
  putBlobFile?(
    descriptor: Descriptor,
    path: string,
    options?: TransportOptions & { readonly onBytes?: (bytes: number) => void },
  ): Promise<void>;
  /**
   * Makes a blob that another repository of the same registry holds available here
   * without sending it (a cross-repository mount); answers false when it cannot, and
   * the blob is then sent.
   */
  mountBlob?(descriptor: Descriptor, origin: BlobOrigin, options?: TransportOptions): Promise<boolean>;
  /**
   * Whether the destination already holds this manifest (under `tag`, when one is given).
   * A write trusts that holding a manifest means holding all it refers to (registries
   * refuse an image manifest whose blobs they lack, and distribution an index whose
   * children it lacks) and then moves nothing but, at most, the tag: a blob deleted from
   * under a manifest the destination holds is not put back. Optional: without it, each
   * blob is asked for with `hasBlob`.
   */
  hasManifest?(
    descriptor: Descriptor,
    options?: TransportOptions & { readonly tag?: string },
  ): Promise<boolean>;
  /** Stores a manifest's exact bytes under `descriptor.digest`, and under a tag when given. */
  putManifest(descriptor: Descriptor, manifest: ManifestBytes, options?: PutManifestOptions): Promise<void>;
  /** Makes what was written visible (an index.json, a tag) atomically. */
  commit(options?: TransportOptions): Promise<void>;
  /** Releases resources; an uncommitted write is abandoned. */
  close(): Promise<void>;
}
