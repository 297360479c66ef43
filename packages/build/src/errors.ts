import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/build`. */
export type BuildErrorCode =
  | 'ERR_READ_FAILED'
  | 'ERR_LAYER_INPUT_INVALID'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_UNSUPPORTED_RUNTIME';

/** Fields a {@link BuildError} may carry besides its code and message. */
export interface BuildErrorDetails {
  /** The file or directory involved. */
  readonly path?: string;
  readonly cause?: unknown;
}

/** A build that cannot go on: an unreadable file, an input of no known kind, a format mismatch. */
export class BuildError extends StevedoreError<BuildErrorCode> {
  readonly path: string | undefined;

  constructor(code: BuildErrorCode, message: string, details: BuildErrorDetails = {}) {
    super(code, message, details);
    this.path = details.path;
  }
}
