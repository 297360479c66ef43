import { excerpt, StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/digest`. */
export type DigestErrorCode =
  | 'ERR_DIGEST_INVALID'
  | 'ERR_DIGEST_MISMATCH'
  | 'ERR_SIZE_MISMATCH'
  | 'ERR_UNSUPPORTED_ALGORITHM';

/** Fields a {@link DigestError} may carry besides its code and message. */
export interface DigestErrorDetails {
  /** The offending input (for `ERR_DIGEST_INVALID`, `ERR_UNSUPPORTED_ALGORITHM`). */
  readonly value?: string;
  /** What was expected: a digest string or a size in bytes. */
  readonly expected?: string | number;
  /** What was found: a digest string or a size in bytes (a lower bound when reading stopped early). */
  readonly actual?: string | number;
  readonly cause?: unknown;
}

/** A failure to parse, compute or verify a digest. */
export class DigestError extends StevedoreError<DigestErrorCode> {
  readonly value: string | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;

  constructor(code: DigestErrorCode, message: string, details: DigestErrorDetails = {}) {
    super(code, message, details);
    this.value = details.value;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** @internal */
export function invalidDigest(value: string, reason: string): DigestError {
  return new DigestError('ERR_DIGEST_INVALID', `invalid digest ${excerpt(value)}: ${reason}`, {
    value,
  });
}
