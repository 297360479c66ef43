import { excerpt, StevedoreError } from '@stevedore/errors';
import type { Platform } from './platform.ts';

/** The error codes of `@stevedore/manifest`. */
export type ManifestErrorCode =
  | 'ERR_MANIFEST_INVALID'
  | 'ERR_MANIFEST_TOO_LARGE'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_PLATFORM_INVALID'
  | 'ERR_NOT_A_MANIFEST'
  | 'ERR_NOT_AN_INDEX'
  | 'ERR_NO_MATCH'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE';

/** Fields a {@link ManifestError} may carry besides its code and message. */
export interface ManifestErrorDetails {
  /** Where in the document the problem is, as a JSON path (`$.layers[2].digest`). */
  readonly path?: string;
  /** The offending value. */
  readonly value?: unknown;
  /** The media type involved. */
  readonly mediaType?: string;
  /** The size limit that was exceeded, in bytes. */
  readonly limit?: number;
  /** For `ERR_NO_MATCH`: the platform asked for and the ones available. */
  readonly wanted?: Platform;
  readonly available?: readonly Platform[];
  readonly cause?: unknown;
}

/** A manifest, index, config or platform that is malformed or not of the kind asked for. */
export class ManifestError extends StevedoreError<ManifestErrorCode> {
  readonly path: string | undefined;
  readonly value: unknown;
  readonly mediaType: string | undefined;
  readonly limit: number | undefined;
  readonly wanted: Platform | undefined;
  readonly available: readonly Platform[] | undefined;

  constructor(code: ManifestErrorCode, message: string, details: ManifestErrorDetails = {}) {
    super(code, message, details);
    this.path = details.path;
    this.value = details.value;
    this.mediaType = details.mediaType;
    this.limit = details.limit;
    this.wanted = details.wanted;
    this.available = details.available;
  }
}

/**
 * Builds the error for a field of a JSON document that is missing or of the wrong shape.
 * @internal
 */
export function invalidField(
  code: 'ERR_MANIFEST_INVALID' | 'ERR_CONFIG_INVALID',
  path: string,
  reason: string,
  value: unknown,
  cause?: unknown,
): ManifestError {
  const what = code === 'ERR_CONFIG_INVALID' ? 'image config' : 'manifest';
  const shown = value === undefined ? '' : ` (got ${excerpt(value)})`;
  return new ManifestError(code, `invalid ${what} at ${path}: ${reason}${shown}`, {
    path,
    value,
    ...(cause === undefined ? {} : { cause }),
  });
}
