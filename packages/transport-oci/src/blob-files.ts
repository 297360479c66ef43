// Files a local transport keeps: blobs as one file each, wherever the transport puts them
// (blobs/<alg>/<hex>, <hex>, v2/<name>/blobs/<digest>), and small files replaced whole.
import { stat } from 'node:fs/promises';
import { verifyStream } from '@stevedore/digest';
import type { BlobSource, ImageDestination } from '@stevedore/image';
import { copyVerifiedFile, createAtomicFileWriter, readFileChunks } from '@stevedore/image/node';
import type { Descriptor } from '@stevedore/manifest';

/** Whether a whole blob is at `path`: a file of the descriptor's size. @internal */
export async function hasBlobFile(path: string, descriptor: Descriptor): Promise<boolean> {
  const found = await stat(path).catch(() => undefined);
  return found?.isFile() === true && found.size === descriptor.size;
}

/** A blob source over one file per blob, at `pathOf(descriptor)`. @internal */
export function blobFiles(pathOf: (descriptor: Descriptor) => string): BlobSource {
  return {
    async openBlob(descriptor, options = {}) {
      const path = pathOf(descriptor);
      const found = await stat(path).catch(() => undefined);
      return found?.isFile() ? readFileChunks(path, options) : undefined;
    },
    async fileOf(descriptor) {
      const path = pathOf(descriptor);
      const found = await stat(path).catch(() => undefined);
      return found?.isFile() ? path : undefined;
    },
  };
}

/** The blob half of a destination that keeps one file per blob. @internal */
export type BlobFileStore = Required<
  Pick<ImageDestination, 'hasBlob' | 'putBlob' | 'putBlobFile' | 'transientChunks'>
>;

/**
 * Stores blobs as one file each, at `pathOf(descriptor)`: verified as they are written to
 * a temporary file in `temporaryDirectory` (on the same filesystem), synced, then renamed.
 * A blob already there is neither read nor written again. `onHeld` is told of every blob
 * the destination then holds, found or stored, so what a transport records about its
 * blobs does not depend on whether an earlier copy left them behind.
 * @internal
 */
export function blobFileStore(
  pathOf: (descriptor: Descriptor) => string,
  temporaryDirectory: string,
  onHeld: (descriptor: Descriptor) => void = () => {},
): BlobFileStore {
  const found = async (descriptor: Descriptor) => {
    if (!(await hasBlobFile(pathOf(descriptor), descriptor))) return false;
    onHeld(descriptor);
    return true;
  };
  return {
    hasBlob: found,
    // Each chunk is hashed and copied into the file writer's buffers before the next is asked for.
    transientChunks: true,
    async putBlob(descriptor, content, options = {}) {
      if (await found(descriptor)) return; // the caller's stream is left unread
      const verified = verifyStream(content, { digest: descriptor.digest, size: descriptor.size }, options);
      await writeFileAtomic(pathOf(descriptor), verified, temporaryDirectory);
      onHeld(descriptor);
    },
    async putBlobFile(descriptor, file, options = {}) {
      if (await found(descriptor)) return;
      await copyVerifiedFile(file, pathOf(descriptor), descriptor, { ...options, temporaryDirectory });
      onHeld(descriptor);
    },
  };
}

/**
 * Writes a file atomically: to a temporary name in `temporaryDirectory` (on the same
 * filesystem), synced, then renamed over `path` (its directory is created).
 * @internal
 */
export async function writeFileAtomic(
  path: string,
  content: Uint8Array | AsyncIterable<Uint8Array>,
  temporaryDirectory: string,
): Promise<void> {
  const file = await createAtomicFileWriter({ temporaryDirectory });
  try {
    if (content instanceof Uint8Array) await file.write(content);
    else for await (const chunk of content) await file.write(chunk);
    await file.commit(path);
  } catch (error) {
    await file.abort();
    throw error;
  }
}
