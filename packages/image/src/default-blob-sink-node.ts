// The `node` branch of `#default-blob-sink`: blobs go to files, named by digest, in the
// directory given or a fresh temporary one, so a layer of any size never sits in memory.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DefaultBlobSink } from './default-blob-sink.ts';
import { createFileBlobWriter } from './node.ts';

/** @internal */
export const defaultBlobSink: DefaultBlobSink = async (blobDirectory) => {
  const directory = blobDirectory ?? (await mkdtemp(join(tmpdir(), 'stevedore-blobs-')));
  await mkdir(directory, { recursive: true });
  return {
    create: () =>
      createFileBlobWriter({
        temporaryDirectory: directory,
        pathOf: (digest) => join(directory, digest.replace(':', '-')),
        // Scratch space: a crash loses the work, not a store; a destination syncs its own copy.
        sync: false,
      }),
  };
};
