// The `default` branch of `#default-blob-sink`: without a filesystem, blobs stay in memory.
import type { DefaultBlobSink } from './default-blob-sink.ts';
import { memoryBlobSink } from './memory-blob-sink.ts';

/** @internal */
export const defaultBlobSink: DefaultBlobSink = async () => memoryBlobSink;
