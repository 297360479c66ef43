export { type ByteSource, collectBytes, concatBytes, iterateBytes } from './byte-source.ts';
export {
  type ComputableAlgorithm,
  Digest,
  type DigestAlgorithm,
  isComputableAlgorithm,
  isDigest,
  parseDigest,
  toDigest,
} from './digest.ts';
export {
  DigestError,
  type DigestErrorCode,
  type DigestErrorDetails,
} from './errors.ts';
export { type ComputeDigestOptions, computeDigest, createHasher, type Hasher } from './hasher.ts';
export {
  type ExpectedContent,
  type VerifyStreamOptions,
  verifyBytes,
  verifyStream,
} from './verify-stream.ts';
