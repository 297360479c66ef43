import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/archive`. */
export type ArchiveErrorCode =
  // tar (tar-read.ts, tar-write.ts)
  | 'ERR_TAR_INVALID'
  | 'ERR_TAR_TRUNCATED'
  | 'ERR_TAR_UNSUPPORTED_ENTRY'
  | 'ERR_TAR_CONTENT_CONSUMED'
  | 'ERR_TAR_INVALID_ENTRY'
  | 'ERR_TAR_SIZE_MISMATCH'
  // compression (compression.ts)
  | 'ERR_COMPRESSION_FAILED'
  | 'ERR_DECOMPRESSION_FAILED';

/** Fields an {@link ArchiveError} may carry besides its code and message. */
export interface ArchiveErrorDetails {
  /** The offending value (a header field, a PAX record, an option). */
  readonly value?: unknown;
  /** What was expected, for example a size in bytes. */
  readonly expected?: string | number;
  /** What was found (a lower bound when reading stopped early). */
  readonly actual?: string | number;
  /** The archive path of the entry involved, when known. */
  readonly path?: string;
  readonly cause?: unknown;
}

/** A tar archive or a compressed stream that is malformed, truncated or not what was declared. */
export class ArchiveError extends StevedoreError<ArchiveErrorCode> {
  readonly value: unknown;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;
  readonly path: string | undefined;

  constructor(code: ArchiveErrorCode, message: string, details: ArchiveErrorDetails = {}) {
    super(code, message, details);
    this.value = details.value;
    this.expected = details.expected;
    this.actual = details.actual;
    this.path = details.path;
  }
}
