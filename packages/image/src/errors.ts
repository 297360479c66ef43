import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/image`. */
export type ImageErrorCode =
  | 'ERR_BLOB_NOT_FOUND'
  | 'ERR_LAYER_MISMATCH'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_INVALID_IMAGE';

/** Fields an {@link ImageError} may carry besides its code and message. */
export interface ImageErrorDetails {
  /** The digest of the blob or manifest involved. */
  readonly digest?: string;
  /** The media type involved. */
  readonly mediaType?: string;
  readonly expected?: number | string;
  readonly actual?: number | string;
  readonly cause?: unknown;
}

/** A failure of the image model: a missing blob, layers that do not pair up, a format mismatch. */
export class ImageError extends StevedoreError<ImageErrorCode> {
  readonly digest: string | undefined;
  readonly mediaType: string | undefined;
  readonly expected: number | string | undefined;
  readonly actual: number | string | undefined;

  constructor(code: ImageErrorCode, message: string, details: ImageErrorDetails = {}) {
    super(code, message, details);
    this.digest = details.digest;
    this.mediaType = details.mediaType;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** @internal */
export function blobNotFound(digest: string, where: string): ImageError {
  return new ImageError('ERR_BLOB_NOT_FOUND', `blob ${digest} not found in ${where}`, { digest });
}
