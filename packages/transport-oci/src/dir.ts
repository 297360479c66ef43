// The containers/image directory format (`dir:`), as skopeo reads and writes it: a
// `version` file, the top manifest as `manifest.json`, the manifests an index lists as
// `<hex>.manifest.json`, and every blob as `<hex>` (sha256) or `<algorithm>-<hex>`.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest, verifyBytes } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import {
  type BlobSource,
  type ImageDestination,
  type ImageNode,
  loadImageNode,
  type TransferOptions,
  writeImageNode,
} from '@stevedore/image';
import { type Descriptor, parseManifest } from '@stevedore/manifest';
import { blobFileStore, blobFiles, writeFileAtomic } from './blob-files.ts';
import { TransportError } from './errors.ts';

const VERSION = 'Directory Transport Version: 1.1\n';

function blobName(digest: string): string {
  const parsed = parseDigest(digest);
  return parsed.algorithm === 'sha256' ? parsed.encoded : `${parsed.algorithm}-${parsed.encoded}`;
}

/** A blob source over a `dir:` directory: blobs by `<hex>`, manifests by `<hex>.manifest.json`. */
export function dirBlobSource(root: string, kind: 'blobs' | 'manifests' = 'blobs'): BlobSource {
  const suffix = kind === 'manifests' ? '.manifest.json' : '';
  return blobFiles((descriptor) => join(root, blobName(descriptor.digest) + suffix));
}

/**
 * Opens a directory for writing an image in the `dir:` format. A directory that already
 * holds one (it has a `version` file) is replaced, as skopeo replaces it, but only at
 * `commit`: blobs the new image shares with the old one are kept rather than written
 * again, and a copy that fails or is aborted leaves the old image whole (with at most
 * some verified blobs beside it, removed by the next commit). Any other non-empty
 * directory is refused. Blobs are verified, synced and renamed into place.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` for a non-empty directory that is not a `dir:` image.
 */
export async function openDirDestination(root: string): Promise<ImageDestination> {
  await mkdir(root, { recursive: true });
  const entries = await readdir(root);
  if (entries.length > 0 && !entries.includes('version')) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${root} is not empty and holds no dir: image; refusing to overwrite it`,
      { path: root },
    );
  }
  await writeFileAtomic(join(root, 'version'), new TextEncoder().encode(VERSION), root);
  const manifests: Array<{ descriptor: Descriptor; bytes: Uint8Array }> = [];
  // The names the new image is made of: everything else goes at commit.
  const kept = new Set(['version', 'manifest.json']);

  return {
    ...blobFileStore(
      (descriptor) => join(root, blobName(descriptor.digest)),
      root,
      (descriptor) => kept.add(blobName(descriptor.digest)),
    ),
    async putManifest(descriptor, manifest) {
      await verifyBytes(manifest.bytes, descriptor);
      manifests.push({ descriptor, bytes: manifest.bytes });
    },
    async commit() {
      const top = manifests.at(-1);
      if (top === undefined) return;
      for (const { descriptor, bytes } of manifests.slice(0, -1)) {
        const name = `${blobName(descriptor.digest)}.manifest.json`;
        await writeFileAtomic(join(root, name), bytes, root);
        kept.add(name);
      }
      await writeFileAtomic(join(root, 'manifest.json'), top.bytes, root);
      manifests.length = 0;
      // The old image's parts, and blobs a failed copy left, are not part of this one.
      for (const entry of await readdir(root)) {
        if (!kept.has(entry)) await rm(join(root, entry), { recursive: true, force: true });
      }
    },
    async close() {
      manifests.length = 0;
    },
  };
}

/** Options for {@link writeDir} and {@link readDir}. */
export interface DirOptions {
  readonly signal?: AbortSignal;
}

/**
 * Writes an image, index or artifact as a `dir:` directory that skopeo reads
 * (`skopeo copy dir:PATH …`). Digests are preserved.
 * @throws {TransportError} `ERR_LAYOUT_INVALID`; digest errors for blobs that are not what they say.
 */
export async function writeDir(
  path: string,
  node: ImageNode,
  options: DirOptions & TransferOptions = {},
): Promise<void> {
  const destination = await openDirDestination(path);
  try {
    await writeImageNode(node, destination, options);
  } finally {
    await destination.close();
  }
}

/**
 * Reads a `dir:` directory written by skopeo or by {@link writeDir}: manifests and configs
 * now (verified), layers on demand (verified as they stream).
 * @throws {TransportError} `ERR_LAYOUT_INVALID` naming what is missing or wrong.
 */
export async function readDir(path: string, options: DirOptions = {}): Promise<ImageNode> {
  const version = await readFile(join(path, 'version'), 'utf8').catch(() => undefined);
  if (version === undefined || !version.startsWith('Directory Transport Version: 1.')) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${path} is not a dir: image: ${version === undefined ? 'no version file' : `version ${excerpt(version.trim())}`}`,
      { path },
    );
  }
  const bytes = await readFile(join(path, 'manifest.json')).catch((cause: unknown) => {
    throw new TransportError('ERR_LAYOUT_INVALID', `${path} has no manifest.json`, { path, cause });
  });
  const manifest = await parseManifest(new Uint8Array(bytes));
  return loadImageNode(manifest, {
    blobs: dirBlobSource(path),
    manifests: dirBlobSource(path, 'manifests'),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
