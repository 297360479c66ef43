import { concatBytes } from '@stevedore/digest';
import type { BlobSink } from './blob-sink.ts';
import { memoryBlobSource } from './blob-source.ts';

/** A blob sink in memory, for runtimes without a filesystem and for small layers. */
export const memoryBlobSink: BlobSink = {
  async create() {
    const chunks: Uint8Array[] = [];
    return {
      async write(chunk) {
        chunks.push(chunk.slice());
      },
      async commit(digest) {
        return memoryBlobSource({ [digest]: concatBytes(chunks) });
      },
      async abort() {
        chunks.length = 0;
      },
    };
  },
};
