// Garbage collection of an OCI image layout: mark every blob that index.json reaches
// (manifests, the children of indexes, configs, layers, subjects, and the referrers of
// what is kept), then sweep the other files of blobs/<algorithm>/. Only files named as a
// digest of their directory's algorithm are blobs: the temporary files writers use live
// in the layout's root (`.tmp-*`) and are never touched, nor is anything else.
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { collectBytes, parseDigest } from '@stevedore/digest';
import { readBlobBytes } from '@stevedore/image';
import { readFileChunks } from '@stevedore/image/node';
import {
  type Descriptor,
  isIndexMediaType,
  isManifestMediaType,
  MAX_MANIFEST_SIZE,
  type Manifest,
  manifestReferences,
  manifestSubject,
  parseManifest,
} from '@stevedore/manifest';
import { layoutBlobSource, readLayoutIndex } from './oci-layout.ts';

/** Options for {@link collectOciLayoutGarbage}. */
export interface CollectOciLayoutGarbageOptions {
  /** Report what would be removed, and remove nothing. */
  readonly dryRun?: boolean;
  /**
   * Keep blobs modified less than this many milliseconds before the collection started
   * (default 0): a writer stores a copy's blobs before it lists the copy in `index.json`,
   * so a grace period spares a copy in flight. Blobs that appear while the collection
   * runs are always kept.
   */
  readonly minimumAge?: number;
  readonly signal?: AbortSignal;
}

/** A blob removed (or, in a dry run, that would be). */
export interface RemovedBlob {
  readonly digest: string;
  readonly size: number;
}

/** What {@link collectOciLayoutGarbage} removed and kept. */
export interface OciLayoutGarbage {
  /** The blobs removed (in a dry run, those that would be), sorted by digest. */
  readonly removed: readonly RemovedBlob[];
  /** How many blobs stay. */
  readonly kept: number;
  /** The bytes the removed blobs took. */
  readonly bytesFreed: number;
  /**
   * The manifests that `index.json` reaches but the layout does not hold (an index kept
   * without some of its platforms), sorted: nothing they would reach is known.
   */
  readonly missing: readonly string[];
}

/** A blob file found under `blobs/`. */
interface BlobFile {
  readonly digest: string;
  readonly path: string;
  readonly size: number;
  readonly modified: number;
}

/**
 * Removes the blobs of an OCI image layout that nothing in its `index.json` reaches:
 * manifests, the manifests of indexes, configs and layers that an entry reaches are kept,
 * and so are the subjects of kept manifests and the manifests whose `subject` is kept
 * (signatures, SBOMs, attestations), listed or not. `index.json`, `oci-layout`, the
 * `blobs/<algorithm>/` directories, files that are not named as a digest and the
 * temporary files of writers stay as they are, so umoci and skopeo read the layout as
 * before. Writers are not locked out: collect when nothing writes to the layout, or give
 * `minimumAge` to spare blobs a copy in flight has just stored.
 *
 * Every manifest reached is read and verified before anything is removed: one that is not
 * its digest or does not parse fails the collection, with nothing removed. One the layout
 * does not hold is listed in `missing`.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` when `path` is not a layout.
 * @throws {DigestError} `ERR_DIGEST_MISMATCH`, `ERR_SIZE_MISMATCH` for a manifest reached
 *   that is not its digest; `ManifestError` for one that does not parse.
 * @throws {RangeError} for a `minimumAge` that is not a non-negative number.
 * @example
 * ```ts
 * const { removed, bytesFreed } = await collectOciLayoutGarbage('./layout');
 * console.log(`${removed.length} blobs removed, ${bytesFreed} bytes freed`);
 * ```
 */
export async function collectOciLayoutGarbage(
  path: string,
  options: CollectOciLayoutGarbageOptions = {},
): Promise<OciLayoutGarbage> {
  const minimumAge = options.minimumAge ?? 0;
  if (typeof minimumAge !== 'number' || !(minimumAge >= 0)) {
    throw new RangeError(
      `collectOciLayoutGarbage: minimumAge must be a non-negative number of milliseconds, got ${String(minimumAge)}`,
    );
  }
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const started = Date.now();
  const index = await readLayoutIndex(path);
  const blobs = layoutBlobSource(path);
  const files = await listBlobFiles(path);
  const held = new Map(files.map((file) => [file.digest, file]));

  const marked = new Set<string>();
  const missing = new Set<string>();
  // Follows a descriptor: marks its blob and, for a manifest or index, what it reaches.
  const follow = async (first: readonly Followed[]) => {
    const pending = [...first];
    for (let descriptor = pending.pop(); descriptor !== undefined; descriptor = pending.pop()) {
      options.signal?.throwIfAborted();
      if (marked.has(descriptor.digest)) continue;
      marked.add(descriptor.digest);
      if (!isManifestMediaType(descriptor.mediaType) && !isIndexMediaType(descriptor.mediaType)) continue;
      if (!held.has(descriptor.digest)) {
        // An index may be kept without some of its platforms (skopeo's --multi-arch
        // index-only), and a subject need not be in the layout (image-spec, manifest.md).
        if (descriptor.subjectOnly !== true) missing.add(descriptor.digest);
        continue;
      }
      const bytes = await readBlobBytes(blobs, descriptor, { ...signal, limit: MAX_MANIFEST_SIZE });
      pending.push(...reachedFrom(await parseManifest(bytes, descriptor.mediaType)));
    }
  };
  await follow(index.manifests);

  // Referrers: unmarked blobs that are manifests with a subject. Kept when their subject
  // is, until nothing more is (a signature of an SBOM of an image).
  const referrers = await unmarkedReferrers(files, marked, options.signal);
  for (let found = true; found; ) {
    found = false;
    for (const referrer of referrers) {
      if (marked.has(referrer.descriptor.digest) || !marked.has(referrer.subject)) continue;
      await follow([referrer.descriptor]);
      found = true;
    }
  }

  const removed: RemovedBlob[] = [];
  let kept = 0;
  for (const file of files) {
    options.signal?.throwIfAborted();
    if (marked.has(file.digest) || file.modified > started - minimumAge) {
      kept += 1;
      continue;
    }
    if (options.dryRun !== true) {
      // Written since it was listed (a writer renamed a new copy over it): keep it.
      const now = await stat(file.path).catch(() => undefined);
      if (now !== undefined && now.mtimeMs > started - minimumAge) {
        kept += 1;
        continue;
      }
      await unlink(file.path).catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
      });
    }
    removed.push({ digest: file.digest, size: file.size });
  }
  removed.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return {
    removed,
    kept,
    bytesFreed: removed.reduce((sum, blob) => sum + blob.size, 0),
    missing: [...missing].sort(),
  };
}

/** A descriptor to follow; a subject's may name a manifest the layout does not hold. */
type Followed = Descriptor & { readonly subjectOnly?: true };

// The descriptors a manifest or index refers to.
function reachedFrom(manifest: Manifest): Followed[] {
  const reached: Followed[] = [...manifestReferences(manifest)];
  const subject = manifestSubject(manifest);
  if (subject !== undefined) reached.push({ ...subject, subjectOnly: true });
  return reached;
}

// Every file of blobs/<algorithm>/ named as a digest of that algorithm.
async function listBlobFiles(root: string): Promise<BlobFile[]> {
  const blobs = join(root, 'blobs');
  const algorithms = await readdir(blobs, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  });
  const files: BlobFile[] = [];
  for (const algorithm of algorithms) {
    if (!algorithm.isDirectory()) continue;
    const directory = join(blobs, algorithm.name);
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const digest = `${algorithm.name}:${entry.name}`;
      try {
        parseDigest(digest);
      } catch {
        continue; // not a blob: someone else's file
      }
      const path = join(directory, entry.name);
      const found = await stat(path).catch(() => undefined);
      if (found === undefined) continue;
      files.push({ digest, path, size: found.size, modified: found.mtimeMs });
    }
  }
  return files;
}

/** A manifest in the layout, not reached from index.json, that names a subject. */
interface Referrer {
  readonly descriptor: Descriptor;
  readonly subject: string;
}

// The unmarked blobs that are manifests with a subject. Only files that could be one are
// read: at most 4 MiB, starting with `{`.
async function unmarkedReferrers(
  files: readonly BlobFile[],
  marked: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<Referrer[]> {
  const found: Referrer[] = [];
  for (const file of files) {
    signal?.throwIfAborted();
    if (marked.has(file.digest) || file.size > MAX_MANIFEST_SIZE || file.size < 2) continue;
    const head = await collectBytes(
      readFileChunks(file.path, { length: 64, ...(signal === undefined ? {} : { signal }) }),
    ).catch(() => undefined);
    if (head === undefined || !startsLikeJsonObject(head)) continue;
    const descriptor: Descriptor = {
      mediaType: 'application/octet-stream',
      digest: file.digest,
      size: file.size,
    };
    try {
      const bytes = await readBlobBytes(
        { openBlob: async () => readFileChunks(file.path, signal === undefined ? {} : { signal }) },
        descriptor,
        { limit: MAX_MANIFEST_SIZE, ...(signal === undefined ? {} : { signal }) },
      );
      const manifest = await parseManifest(bytes);
      const subject = manifestSubject(manifest);
      if (subject === undefined) continue;
      found.push({ descriptor: { ...descriptor, mediaType: manifest.mediaType }, subject: subject.digest });
    } catch {
      signal?.throwIfAborted();
      // Not a manifest (a JSON config, a layer), or not its digest: garbage either way.
    }
  }
  return found;
}

function startsLikeJsonObject(head: Uint8Array): boolean {
  for (const byte of head) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b; // `{`
  }
  return false;
}
