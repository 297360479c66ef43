import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/copy`. */
export type CopyErrorCode = 'ERR_ENDPOINT_INVALID';

/** An endpoint that names no transport Stevedore knows, or names one wrongly. */
export class CopyError extends StevedoreError<CopyErrorCode> {
  /** The endpoint as given. */
  readonly endpoint: string | undefined;

  constructor(code: CopyErrorCode, message: string, details: { endpoint?: string; cause?: unknown } = {}) {
    super(code, message, details);
    this.endpoint = details.endpoint;
  }
}
