import type { Descriptor } from '@stevedore/manifest';

/** What happened to one blob during a write, for progress bars and logs. */
export interface BlobProgress {
  /** The blob (its `size` is the total). */
  readonly descriptor: Descriptor;
  /**
   * `skipped`: the destination already has it; `mounted`: the destination's registry
   * made it available from another repository, nothing sent; `started`: its bytes begin
   * to move; `progress`: more bytes moved; `done`: stored and verified.
   */
  readonly state: 'skipped' | 'mounted' | 'started' | 'progress' | 'done';
  /** Bytes of this blob moved so far. */
  readonly bytes: number;
}

/** Passes a blob's bytes through, reporting a `progress` event per chunk. */
export async function* countProgress(
  content: AsyncIterable<Uint8Array>,
  descriptor: Descriptor,
  onProgress: (event: BlobProgress) => void,
): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of content) {
    bytes += chunk.byteLength;
    onProgress({ descriptor, state: 'progress', bytes });
    yield chunk;
  }
}
