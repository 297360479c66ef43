import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyBytes } from '@stevedore/digest';
import type { BlobSink, ImageDestination } from '@stevedore/image';
import { createFileBlobWriter } from '@stevedore/image/node';
import { type Descriptor, type ImageIndex, MediaTypes, serializeManifest } from '@stevedore/manifest';
import { blobFileStore, writeFileAtomic } from './blob-files.ts';
import {
  blobPath,
  checkRefName,
  indexEntry,
  OCI_LAYOUT_VERSION,
  REF_NAME_ANNOTATION,
  readLayoutIndex,
} from './oci-layout.ts';

/**
 * Makes `root` an OCI image layout if it is not one yet (an `oci-layout` marker), and
 * checks it when it is.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` when `root` holds a broken layout.
 */
export async function ensureOciLayout(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  const existing = await readLayoutIndex(root).catch(async (error: unknown) => {
    const marker = await stat(join(root, 'oci-layout')).catch(() => undefined);
    if (marker !== undefined) throw error; // a layout, but a broken one: do not overwrite it
    return undefined;
  });
  if (existing === undefined) {
    // index.json first, the marker last: a layout with a marker is always whole.
    const empty: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] };
    await writeFileAtomic(join(root, 'index.json'), serializeManifest(empty), root);
    await writeFileAtomic(
      join(root, 'oci-layout'),
      new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })),
      root,
    );
  }
}

/**
 * A blob sink that writes new blobs straight into an OCI image layout (created when
 * absent): to a temporary name, synced, then renamed to `blobs/<algorithm>/<encoded>`.
 * Pass it to a build (`blobSink`) and writing the image to the layout afterwards copies
 * nothing but the config and manifests.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` when `root` holds a broken layout.
 */
export async function openOciLayoutBlobSink(root: string): Promise<BlobSink> {
  await ensureOciLayout(root);
  return {
    create: () =>
      createFileBlobWriter({ temporaryDirectory: root, pathOf: (digest) => blobPath(root, digest) }),
  };
}

/**
 * Opens an OCI image layout for writing, creating it when absent. Blobs are written to a
 * temporary name, verified against their digest and size, synced and renamed: a crash or
 * a bad byte never leaves a wrong file under a digest. Blobs already present are not
 * rewritten. `commit` lists the last manifest written in `index.json`, under its tag when
 * one was given (moving the tag when it existed), and replaces `index.json` atomically.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` when `root` holds something else.
 */
export async function openOciLayoutDestination(root: string): Promise<ImageDestination> {
  await ensureOciLayout(root);

  // The index.json entry of the last manifest written.
  let last: Descriptor | undefined;
  const blobs = blobFileStore((descriptor) => blobPath(root, descriptor.digest), root);

  return {
    ...blobs,
    async putManifest(descriptor, manifest, options = {}) {
      const tag = options.tag === undefined ? undefined : checkRefName(options.tag);
      await verifyBytes(manifest.bytes, descriptor);
      if (!(await blobs.hasBlob(descriptor))) {
        await writeFileAtomic(blobPath(root, descriptor.digest), manifest.bytes, root);
      }
      last = indexEntry(descriptor, manifest.mediaType, tag);
    },
    async commit() {
      if (last === undefined) return;
      const index = (await readLayoutIndex(root).catch(() => undefined)) ?? {
        schemaVersion: 2,
        mediaType: MediaTypes.OciIndex,
        manifests: [],
      };
      const entry = last;
      const tag = entry.annotations?.[REF_NAME_ANNOTATION];
      const manifests =
        tag === undefined
          ? index.manifests.some((listed) => listed.digest === entry.digest)
            ? index.manifests
            : [...index.manifests, entry]
          : [...index.manifests.filter((listed) => listed.annotations?.[REF_NAME_ANNOTATION] !== tag), entry];
      const next: ImageIndex = { ...index, mediaType: index.mediaType ?? MediaTypes.OciIndex, manifests };
      await writeFileAtomic(join(root, 'index.json'), serializeManifest(next), root);
      last = undefined;
    },
    async close() {
      last = undefined;
    },
  };
}
