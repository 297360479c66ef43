import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/transport-registry`. */
export type RegistryErrorCode =
  | 'ERR_REFERENCE_INVALID'
  /** The registry answered with an error status (its distribution-spec code in `registryCode`). */
  | 'ERR_REGISTRY_RESPONSE'
  /** The registry could not be reached, or its token service failed. */
  | 'ERR_REGISTRY_UNREACHABLE';

/** Which part of a reference is wrong. */
export type ReferencePart = 'reference' | 'registry' | 'repository' | 'tag' | 'digest';

/** Fields a {@link RegistryError} may carry besides its code and message. */
export interface RegistryErrorDetails {
  /** The reference as given. */
  readonly reference?: string;
  /** For `ERR_REFERENCE_INVALID`: the part that is wrong. */
  readonly part?: ReferencePart;
  /** The HTTP status of the answer. */
  readonly status?: number;
  /** The first distribution-spec error code of the answer (`MANIFEST_UNKNOWN`, `DENIED`, …). */
  readonly registryCode?: string;
  readonly cause?: unknown;
}

/** A failure of the registry client: a bad reference and the registry's own errors. */
export class RegistryError extends StevedoreError<RegistryErrorCode> {
  readonly reference: string | undefined;
  readonly part: ReferencePart | undefined;
  readonly status: number | undefined;
  readonly registryCode: string | undefined;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(code, message, details);
    this.reference = details.reference;
    this.part = details.part;
    this.status = details.status;
    this.registryCode = details.registryCode;
  }
}
