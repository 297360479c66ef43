import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/copy`. */
export type CopyErrorCode =
  | 'ERR_ENDPOINT_INVALID'
  /** `referrers: true` between endpoints that hold no referrers. */
  | 'ERR_REFERRERS_UNSUPPORTED'
  /** `readImage` of an artifact (a signature, an SBOM), which is no runnable image. */
  | 'ERR_NOT_AN_IMAGE';

/** An endpoint that names no transport Stevedore knows, or names one wrongly; a copy its endpoints cannot do. */
export class CopyError extends StevedoreError<CopyErrorCode> {
  /** The endpoint as given. */
  readonly endpoint: string | undefined;

  constructor(code: CopyErrorCode, message: string, details: { endpoint?: string; cause?: unknown } = {}) {
    super(code, message, details);
    this.endpoint = details.endpoint;
  }
}
