// A structural walk over a zstd stream (RFC 8878, section 3.1): it finds where each frame
// ends without decoding anything, so decoders can be fed one frame at a time. Both
// branches need that: Node's zstd stream stops after the first frame of a write that
// holds several (nodejs/node#64741), and the WebAssembly zstd decodes whole frames only.

/** What the walk learnt about one data frame, given with its last piece. @internal */
export interface ZstdFrameInfo {
  /** Frame_Content_Size when the header declares it. */
  readonly contentSize: number | undefined;
  /** An upper bound of the decoded size, from the block headers. */
  readonly outputBound: number;
  /** The frame's compressed size in bytes. */
  readonly size: number;
}

/** Part of one data frame; the frame's last piece carries `frame`. @internal */
export interface ZstdPiece {
  readonly bytes: Uint8Array;
  readonly frame?: ZstdFrameInfo;
}

const frameMagic = 0xfd2fb528;
const magicBytes = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd);
const maxBlockSize = 128 * 1024;

type Stage =
  | 'magic'
  | 'descriptor'
  | 'header'
  | 'blockHeader'
  | 'blockBody'
  | 'checksum'
  | 'skippableSize'
  | 'skippable';

/**
 * Splits a zstd stream into pieces that never cross a frame boundary, checking the
 * frame and block headers on the way. Skippable frames are dropped.
 * @throws {Error} for a bad magic number, a reserved bit or block type, an oversized
 *   block, or a stream that ends inside a frame or holds no frame at all.
 * @internal
 */
export async function* scanZstdFrames(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<ZstdPiece, void, undefined> {
  let stage: Stage = 'magic';
  // Small fields (magic, header, block header, checksum) may straddle chunks.
  const field = new Uint8Array(18);
  let fieldLength = 0;
  let needed = 4;
  let remaining = 0; // bytes left in a block body or a skippable frame
  let frames = 0;
  let headerSize = 0;
  let checksum = false;
  let contentSize: number | undefined;
  let blockMax = maxBlockSize;
  let outputBound = 0;
  let frameSize = 0;
  let lastBlock = false;

  for await (const chunk of chunks) {
    let position = 0;
    // Where the unsent bytes of the current data frame start in this chunk, or -1.
    let pieceStart = stage === 'magic' || stage === 'skippableSize' || stage === 'skippable' ? -1 : 0;
    while (position < chunk.length) {
      if (stage === 'blockBody' || stage === 'skippable') {
        const take = Math.min(remaining, chunk.length - position);
        position += take;
        remaining -= take;
        if (stage === 'blockBody') frameSize += take;
        if (remaining === 0) {
          if (stage === 'skippable') startFrame();
          else if (afterBlock() && pieceStart !== -1) {
            yield { bytes: chunk.subarray(pieceStart, position), frame: finish() };
            pieceStart = -1;
          }
        }
        continue;
      }
      // Gather a small field.
      const take = Math.min(needed - fieldLength, chunk.length - position);
      field.set(chunk.subarray(position, position + take), fieldLength);
      fieldLength += take;
      position += take;
      if (fieldLength < needed) break;
      if (stage === 'magic') {
        const magic = readLE(field, 0, 4);
        if (magic === frameMagic) {
          frames++;
          frameSize = 4;
          if (position >= 4) pieceStart = position - 4;
          else {
            yield { bytes: magicBytes };
            pieceStart = position;
          }
          stage = 'descriptor';
          needed = 5;
        } else if ((magic & 0xfffffff0) === 0x184d2a50) {
          frames++;
          stage = 'skippableSize';
          needed = 8;
        } else {
          throw new Error(
            frames === 0
              ? 'not a zstd frame (bad magic number)'
              : `unexpected bytes after zstd frame ${frames} (bad magic number)`,
          );
        }
        continue;
      }
      if (stage === 'skippableSize') {
        remaining = readLE(field, 4, 4);
        stage = 'skippable';
        if (remaining === 0) startFrame();
        continue;
      }
      if (stage === 'descriptor') {
        const descriptor = field[4] ?? 0;
        if ((descriptor & 0x08) !== 0) throw new Error('corrupt zstd frame header (reserved bit set)');
        const fcsFlag = descriptor >> 6;
        const singleSegment = (descriptor & 0x20) !== 0;
        checksum = (descriptor & 0x04) !== 0;
        const dictionarySize = [0, 1, 2, 4][descriptor & 0x03] ?? 0;
        const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag] ?? 0;
        headerSize = 5 + (singleSegment ? 0 : 1) + dictionarySize + fcsSize;
        stage = 'header';
        needed = headerSize;
        frameSize = 5;
        if (fieldLength < needed) continue;
      }
      if (stage === 'header') {
        readFrameHeader();
        frameSize = headerSize;
        stage = 'blockHeader';
        needed = 3;
        fieldLength = 0;
        continue;
      }
      if (stage === 'blockHeader') {
        const header = readLE(field, 0, 3);
        fieldLength = 0;
        frameSize += 3;
        lastBlock = (header & 1) !== 0;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new Error('corrupt zstd block (reserved block type)');
        if (size > blockMax) {
          throw new Error(`corrupt zstd block (${size} bytes, more than the ${blockMax} allowed)`);
        }
        outputBound += type === 2 ? blockMax : size;
        remaining = type === 1 ? 1 : size;
        stage = 'blockBody';
        if (remaining === 0 && afterBlock() && pieceStart !== -1) {
          yield { bytes: chunk.subarray(pieceStart, position), frame: finish() };
          pieceStart = -1;
        }
        continue;
      }
      // stage === 'checksum'
      frameSize += 4;
      startFrame();
      if (pieceStart !== -1) {
        yield { bytes: chunk.subarray(pieceStart, position), frame: finish() };
        pieceStart = -1;
      }
    }
    if (pieceStart !== -1 && pieceStart < chunk.length) yield { bytes: chunk.subarray(pieceStart) };
  }

  if (stage !== 'magic' || fieldLength !== 0)
    throw new Error('unexpected end of file (truncated zstd frame)');
  if (frames === 0) throw new Error('unexpected end of file (no zstd frame)');

  function startFrame(): void {
    stage = 'magic';
    needed = 4;
    fieldLength = 0;
  }

  // Moves past a block's body; true when that ended the frame.
  function afterBlock(): boolean {
    if (!lastBlock) {
      stage = 'blockHeader';
      needed = 3;
      return false;
    }
    if (checksum) {
      stage = 'checksum';
      needed = 4;
      fieldLength = 0;
      return false;
    }
    startFrame();
    return true;
  }

  function finish(): ZstdFrameInfo {
    const info = { contentSize, outputBound, size: frameSize };
    if (contentSize !== undefined && contentSize > outputBound) {
      throw new Error(`corrupt zstd frame (declares ${contentSize} bytes, its blocks hold ${outputBound})`);
    }
    contentSize = undefined;
    outputBound = 0;
    return info;
  }

  function readFrameHeader(): void {
    const descriptor = field[4] ?? 0;
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    let offset = 5;
    let windowSize = 0;
    if (!singleSegment) {
      const windowDescriptor = field[offset++] ?? 0;
      const windowLog = 10 + (windowDescriptor >> 3);
      const base = 2 ** windowLog;
      windowSize = base + (base / 8) * (windowDescriptor & 7);
    }
    offset += [0, 1, 2, 4][descriptor & 0x03] ?? 0;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag] ?? 0;
    if (fcsSize === 0) contentSize = undefined;
    else {
      contentSize = readLE(field, offset, fcsSize);
      if (fcsSize === 2) contentSize += 256;
    }
    if (singleSegment) windowSize = contentSize ?? 0;
    blockMax = Math.min(maxBlockSize, windowSize);
    outputBound = 0;
  }
}

// Little-endian unsigned integer of up to 8 bytes; exact up to 2^53.
function readLE(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 256 + (bytes[offset + i] ?? 0);
  return value;
}
