import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/mutate`. */
export type MutateErrorCode = 'ERR_BASE_MISMATCH' | 'ERR_NO_MATCH' | 'ERR_UNSAFE_PATH' | 'ERR_LAYER_INVALID';

/** Fields a {@link MutateError} may carry besides its code and message. */
export interface MutateErrorDetails {
  /** The index of the layer involved (for `ERR_BASE_MISMATCH`, the first that differs). */
  readonly layer?: number;
  /** The path inside a layer involved. */
  readonly path?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly cause?: unknown;
}

/** A mutation that cannot apply: an image not built on the given base, no platform to change. */
export class MutateError extends StevedoreError<MutateErrorCode> {
  readonly layer: number | undefined;
  readonly path: string | undefined;
  readonly expected: string | undefined;
  readonly actual: string | undefined;

  constructor(code: MutateErrorCode, message: string, details: MutateErrorDetails = {}) {
    super(code, message, details);
    this.layer = details.layer;
    this.path = details.path;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}
