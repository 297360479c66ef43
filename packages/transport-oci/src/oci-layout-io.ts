import { join } from 'node:path';
import {
  type ImageNode,
  loadImageNode,
  readBlobBytes,
  type TransferOptions,
  writeImageNode,
} from '@stevedore/image';
import {
  type Descriptor,
  MAX_MANIFEST_SIZE,
  MediaTypes,
  manifestSubject,
  parseManifest,
  referrerDescriptor,
  serializeManifest,
} from '@stevedore/manifest';
import { writeFileAtomic } from './blob-files.ts';
import { TransportError } from './errors.ts';
import { directoryLayoutFiles, type LayoutFiles, REF_NAME_ANNOTATION, readIndexOf } from './oci-layout.ts';
import { openOciLayoutDestination } from './oci-layout-destination.ts';

/** Options for {@link writeOciLayout}. */
export interface WriteOciLayoutOptions extends TransferOptions {
  /** The tag to list the image under in `index.json`; defaults to the image's own `tag`. */
  readonly tag?: string;
}

/**
 * Writes an image, index or artifact into an OCI image layout (created when absent).
 * Many images and tags share one layout; writing an existing tag moves it.
 *
 * @throws {TransportError} `ERR_TAG_INVALID`, `ERR_LAYOUT_INVALID`; the digest errors of a
 *   blob whose bytes are not what its descriptor says.
 * @example
 * ```ts
 * await writeOciLayout('./layout', image, { tag: 'v1' });
 * ```
 */
export async function writeOciLayout(
  path: string,
  node: ImageNode,
  options: WriteOciLayoutOptions = {},
): Promise<void> {
  const destination = await openOciLayoutDestination(path);
  try {
    await writeImageNode(node, destination, options);
  } finally {
    await destination.close();
  }
}

/** Options for {@link readOciLayout}: which entry to read. */
export interface ReadOciLayoutOptions {
  /** The tag (`org.opencontainers.image.ref.name`) of the entry. */
  readonly tag?: string;
  /** The digest of a manifest in the layout (listed in `index.json` or not). */
  readonly digest?: string;
  readonly signal?: AbortSignal;
}

/**
 * Reads an image, index or artifact from an OCI image layout, by tag or digest, or the
 * only entry when the layout has one. Manifests and configs are read and verified now;
 * layers are opened on demand and verified as they stream.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID`, `ERR_TAG_NOT_FOUND`,
 *   `ERR_AMBIGUOUS_REFERENCE` (naming the tags available).
 */
export async function readOciLayout(path: string, options: ReadOciLayoutOptions = {}): Promise<ImageNode> {
  return readLayoutNode(directoryLayoutFiles(path), options);
}

/**
 * Reads an entry of a layout, wherever its files are.
 * @internal
 */
export async function readLayoutNode(files: LayoutFiles, options: ReadOciLayoutOptions): Promise<ImageNode> {
  const index = await readIndexOf(files);
  const { blobs } = files;
  const tags = tagsOf(index);
  const descriptor = selectEntry(files.name, index.manifests, tags, options);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const bytes = await readBlobBytes(blobs, descriptor, { ...signal, limit: MAX_MANIFEST_SIZE });
  const manifest = await parseManifest(bytes, descriptor.mediaType);
  const tag = options.tag ?? descriptor.annotations?.[REF_NAME_ANNOTATION];
  return loadImageNode(manifest, { blobs, ...signal, ...(tag === undefined ? {} : { tag }) });
}

function selectEntry(
  path: string,
  entries: readonly Descriptor[],
  tags: readonly string[],
  options: ReadOciLayoutOptions,
): Descriptor {
  const { tag, digest } = options;
  const matching = entries.filter(
    (entry) =>
      (tag === undefined || entry.annotations?.[REF_NAME_ANNOTATION] === tag) &&
      (digest === undefined || entry.digest === digest),
  );
  if (tag === undefined && digest !== undefined && matching.length === 0) {
    // Any manifest in the layout can be read by digest; its media type comes from its bytes.
    return { mediaType: 'application/octet-stream', digest, size: -1 };
  }
  const reference = tag ?? digest;
  if (matching.length === 1 && matching[0] !== undefined) return matching[0];
  if (matching.length === 0) {
    throw new TransportError(
      'ERR_TAG_NOT_FOUND',
      `${path} has no image ${reference === undefined ? '' : `tagged ${reference} `}(tags: ${tags.join(', ') || 'none'})`,
      { path, available: tags, ...(reference === undefined ? {} : { reference }) },
    );
  }
  throw new TransportError(
    'ERR_AMBIGUOUS_REFERENCE',
    `${path} has ${matching.length} images${reference === undefined ? '' : ` for ${reference}`}; name one by tag or digest (tags: ${tags.join(', ') || 'none'})`,
    { path, available: tags, ...(reference === undefined ? {} : { reference }) },
  );
}

/**
 * The manifests of a layout that refer to `digest` through their `subject` (signatures,
 * SBOMs), as a referrers index lists them: every OCI manifest and index `index.json`
 * lists is read to find them (the image layout has no referrers index of its own); other
 * entries (Docker manifests, unknown types) cannot have a subject and are not read. With
 * `artifactType`, only those of that type.
 * @throws {TransportError} `ERR_LAYOUT_INVALID`; the digest errors of a manifest whose
 *   bytes are not what `index.json` says.
 */
export async function listOciLayoutReferrers(
  path: string,
  digest: string,
  options: { readonly artifactType?: string; readonly signal?: AbortSignal } = {},
): Promise<Descriptor[]> {
  const files = directoryLayoutFiles(path);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const found: Descriptor[] = [];
  for (const entry of (await readIndexOf(files)).manifests) {
    // Only OCI manifests and indexes have a `subject`: Docker's and others are not read.
    if (entry.mediaType !== MediaTypes.OciManifest && entry.mediaType !== MediaTypes.OciIndex) continue;
    if (found.some((referrer) => referrer.digest === entry.digest)) continue;
    const bytes = await readBlobBytes(files.blobs, entry, { ...signal, limit: MAX_MANIFEST_SIZE });
    const manifest = await parseManifest(bytes, entry.mediaType);
    if (manifestSubject(manifest)?.digest !== digest) continue;
    const referrer = referrerDescriptor(manifest);
    if (options.artifactType === undefined || referrer.artifactType === options.artifactType)
      found.push(referrer);
  }
  return found;
}

/**
 * The tags of a layout's `index.json` entries, in order.
 * @throws {TransportError} `ERR_LAYOUT_INVALID`.
 */
export async function listOciLayoutTags(path: string): Promise<string[]> {
  return tagsOf(await readIndexOf(directoryLayoutFiles(path)));
}

/** @internal */
export function tagsOf(index: { readonly manifests: readonly Descriptor[] }): string[] {
  return index.manifests.flatMap((entry) => entry.annotations?.[REF_NAME_ANNOTATION] ?? []);
}

/**
 * Removes a tag (or every entry for a digest) from a layout's `index.json`, replaced
 * atomically. Blobs stay: other entries may share them (garbage collection is separate).
 * @throws {TransportError} `ERR_TAG_NOT_FOUND` when nothing matches; `ERR_LAYOUT_INVALID`.
 */
export async function deleteFromOciLayout(
  path: string,
  reference: { tag?: string; digest?: string },
): Promise<void> {
  const index = await readIndexOf(directoryLayoutFiles(path));
  const keep = index.manifests.filter(
    (entry) =>
      !(
        (reference.tag !== undefined && entry.annotations?.[REF_NAME_ANNOTATION] === reference.tag) ||
        (reference.digest !== undefined && entry.digest === reference.digest)
      ),
  );
  if (keep.length === index.manifests.length) {
    const named = reference.tag ?? reference.digest ?? '';
    throw new TransportError(
      'ERR_TAG_NOT_FOUND',
      `${path} has no image ${named} (tags: ${tagsOf(index).join(', ') || 'none'})`,
      {
        path,
        reference: named,
        available: tagsOf(index),
      },
    );
  }
  await writeFileAtomic(join(path, 'index.json'), serializeManifest({ ...index, manifests: keep }), path);
}
