export { ArchiveError, type ArchiveErrorCode, type ArchiveErrorDetails } from './archive-errors.ts';
export {
  type Compression,
  type CompressOptions,
  compress,
  type DecompressOptions,
  decompress,
  detectCompression,
} from './compression.ts';
export type { TarEntry, TarEntryInput, TarEntryType, TarHeader } from './tar-entry.ts';
export { type ReadTarOptions, readTar } from './tar-read.ts';
export {
  encodeFileHeaderBlock,
  tarEnd,
  tarPadding,
  type WriteTarOptions,
  writeTar,
} from './tar-write.ts';
export {
  isOpaqueWhiteout,
  isWhiteout,
  OPAQUE_WHITEOUT,
  WHITEOUT_PREFIX,
  whiteoutPath,
  whiteoutTarget,
} from './whiteout.ts';
