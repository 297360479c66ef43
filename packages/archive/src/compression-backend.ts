/**
 * The codec primitives one runtime branch (`#compression-backend`) provides. The stream
 * framing around them (pigz-style gzip members, zstd frame sequences, frame scanning)
 * is shared, so both branches produce the same structure from the same input.
 * @internal
 */
export interface CompressionBackend {
  /** A short name for messages and benchmarks: `node:zlib` or `portable`. */
  readonly name: string;
  /** How many blocks can be compressed at the same time (threads that run the codec). */
  readonly concurrency: number;
  /**
   * Raw-deflates one block, primed with `dictionary` (the input just before it). A block
   * that is not `last` ends with a sync flush (byte-aligned, not final); the last one
   * ends the deflate stream.
   */
  deflateBlock(
    block: Uint8Array,
    dictionary: Uint8Array | undefined,
    level: number,
    last: boolean,
  ): Promise<Uint8Array>;
  /** Continues a CRC-32 (the gzip one) from `value` over `bytes`. */
  crc32(bytes: Uint8Array, value: number): number;
  /** Compresses one block as a standalone zstd frame that records its content size. */
  zstdFrame(block: Uint8Array, level: number): Promise<Uint8Array>;
  /**
   * Decodes gzip: any number of concatenated members; zero bytes after a member are
   * padding. Codec failures are thrown as they come; the caller wraps them.
   */
  gunzip(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined>;
  /** Decodes a sequence of zstd frames (skippable frames are dropped). */
  unzstd(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined>;
}
