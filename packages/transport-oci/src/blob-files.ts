// Blobs kept as one file each, wherever a transport puts them (blobs/<alg>/<hex>,
// <hex>, v2/<name>/blobs/<digest>): open them, and tell whether one is already there.
import { stat } from 'node:fs/promises';
import type { BlobSource } from '@stevedore/image';
import { readFileChunks } from '@stevedore/image/node';
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
