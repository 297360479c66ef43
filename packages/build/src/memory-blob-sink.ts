import { memoryBlobSource } from '@stevedore/image';
import type { BlobSink } from './blob-sink.ts';

/** A blob sink in memory, for runtimes without a filesystem and for small layers. */
export const memoryBlobSink: BlobSink = {
  async create() {
    const chunks: Uint8Array[] = [];
    return {
      async write(chunk) {
        chunks.push(chunk.slice());
      },
      async commit(digest) {
        return memoryBlobSource({ [digest]: concat(chunks) });
      },
      async abort() {
        chunks.length = 0;
      },
    };
  },
};

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
