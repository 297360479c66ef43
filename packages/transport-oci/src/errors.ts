import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/transport-oci`. */
export type TransportErrorCode =
  | 'ERR_LAYOUT_INVALID'
  | 'ERR_TAG_NOT_FOUND'
  | 'ERR_TAG_INVALID'
  | 'ERR_AMBIGUOUS_REFERENCE';

/** Fields a {@link TransportError} may carry besides its code and message. */
export interface TransportErrorDetails {
  /** The path of the layout or file involved. */
  readonly path?: string;
  /** The tag or digest asked for. */
  readonly reference?: string;
  /** For an ambiguous or missing reference: the tags that exist. */
  readonly available?: readonly string[];
  readonly cause?: unknown;
}

/** A failure to read or write an on-disk image transport. */
export class TransportError extends StevedoreError<TransportErrorCode> {
  readonly path: string | undefined;
  readonly reference: string | undefined;
  readonly available: readonly string[] | undefined;

  constructor(code: TransportErrorCode, message: string, details: TransportErrorDetails = {}) {
    super(code, message, details);
    this.path = details.path;
    this.reference = details.reference;
    this.available = details.available;
  }
}
