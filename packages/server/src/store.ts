import type { FileHandle } from 'node:fs/promises';
import type { Descriptor } from '@stevedore/manifest';

/**
 * What the registry keeps, behind the HTTP layer: content-addressed blobs shared by every
 * repository, upload sessions, and per repository the links that make a blob or manifest
 * visible there, its tags and its referrers. Narrow on purpose: every method is a get, a
 * put, a delete or a listing of small records or of one stream of bytes, so an object
 * store (S3 and the like) can implement it with no change to the server.
 *
 * The server verifies every digest before it calls a store; a store trusts the digests it
 * is given. Digests are strings (`sha256:…`), repository names and tags are already
 * checked against the distribution-spec's grammar.
 *
 * A store owns its storage: two servers must not share one (their caches would disagree).
 */
export interface RegistryStore {
  // --- Blobs: one content-addressed store shared by every repository. ---

  /** The size and last-modified time (ms since the epoch) of a blob, or `undefined`. */
  blobInfo(digest: string): Promise<StoredBlob | undefined>;
  /**
   * The bytes of a blob, or of `[start, end)` of it. Rejects with a `StoreError`
   * `ERR_STORE_NOT_FOUND` when the blob is missing.
   */
  readBlob(digest: string, range?: ByteRange, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /**
   * Optional, for stores on a local filesystem: the blob as an open file, or `undefined`.
   * The server then sends blob GETs from it with reused buffers instead of `readBlob`.
   */
  openBlobFile?(digest: string): Promise<FileHandle | undefined>;
  /** Stores small content (a manifest) under its digest, atomically. */
  putBlob(digest: string, bytes: Uint8Array): Promise<void>;
  /** Removes a blob (garbage collection only). */
  deleteBlob(digest: string): Promise<void>;
  /** Every blob, in no particular order. */
  listBlobs(signal?: AbortSignal): AsyncIterable<StoredBlobEntry>;

  // --- Upload sessions: bytes being pushed, kept until finished, cancelled or expired. ---

  /** Starts an upload session for `repository`. */
  createUpload(repository: string): Promise<UploadSession>;
  /** A session by id, or `undefined` when it does not exist. */
  uploadSession(id: string): Promise<UploadSession | undefined>;
  /**
   * Appends `body` at `offset`, which must be the session's size. Resolves to the new size;
   * bytes written before a failure stay (a client resumes from the size it reads back).
   */
  appendUpload(
    id: string,
    offset: number,
    body: AsyncIterable<Uint8Array>,
    signal?: AbortSignal,
  ): Promise<number>;
  /** The bytes uploaded so far. */
  readUpload(id: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /** Turns a finished session, verified as `digest`, into that blob and ends the session. */
  commitUpload(id: string, digest: string): Promise<void>;
  /** Ends a session and drops its bytes. */
  deleteUpload(id: string): Promise<void>;
  /** Every session, in no particular order. */
  listUploads(signal?: AbortSignal): AsyncIterable<UploadSession>;

  // --- Repositories. ---

  /** Makes a blob visible in `repository` (after a push or a mount). */
  linkBlob(repository: string, digest: string): Promise<void>;
  /** Whether a blob is visible in `repository`. */
  hasBlobLink(repository: string, digest: string): Promise<boolean>;
  unlinkBlob(repository: string, digest: string): Promise<void>;
  /** The blobs visible in `repository`. */
  listBlobLinks(repository: string, signal?: AbortSignal): AsyncIterable<string>;

  /** Makes a manifest (already stored as a blob) visible in `repository`, with its media type. */
  linkManifest(repository: string, digest: string, mediaType: string): Promise<void>;
  /** The media type of a manifest of `repository`, or `undefined` when it has none by that digest. */
  manifestMediaType(repository: string, digest: string): Promise<string | undefined>;
  unlinkManifest(repository: string, digest: string): Promise<void>;
  /** The manifests of `repository`. */
  listManifests(repository: string, signal?: AbortSignal): AsyncIterable<StoredManifest>;

  /** The digest a tag points at, or `undefined`. */
  getTag(repository: string, tag: string): Promise<string | undefined>;
  setTag(repository: string, tag: string, digest: string): Promise<void>;
  deleteTag(repository: string, tag: string): Promise<void>;
  /** The tags of `repository`, sorted lexically (by UTF-16 code unit, as the spec's examples). */
  listTags(repository: string): Promise<string[]>;

  /** Records that `referrer` (a manifest of `repository`) has `subject` as its subject. */
  addReferrer(repository: string, subject: string, referrer: Descriptor): Promise<void>;
  removeReferrer(repository: string, subject: string, referrer: string): Promise<void>;
  /** The descriptors of the manifests of `repository` whose subject is `subject`. */
  listReferrers(repository: string, subject: string): Promise<Descriptor[]>;

  /** Every repository that holds a blob link, a manifest or a tag, sorted lexically. */
  listRepositories(): Promise<string[]>;

  /** Releases what the store holds open (timers, handles). */
  close?(): Promise<void>;
}

/** `[start, end)` in bytes. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What a store knows of a blob. */
export interface StoredBlob {
  readonly size: number;
  /** When it was last written or linked, in ms since the epoch (garbage collection spares recent ones). */
  readonly modified: number;
}

/** A blob in a listing. */
export interface StoredBlobEntry extends StoredBlob {
  readonly digest: string;
}

/** A manifest link of a repository. */
export interface StoredManifest {
  readonly digest: string;
  readonly mediaType: string;
}

/** An upload session. */
export interface UploadSession {
  readonly id: string;
  readonly repository: string;
  /** Bytes received so far. */
  readonly size: number;
  /** When it started and when it last received bytes, in ms since the epoch. */
  readonly started: number;
  readonly updated: number;
}

/** Lexical order by UTF-16 code unit (what `Array.prototype.sort` does without a comparator). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
