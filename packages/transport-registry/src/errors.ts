import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/transport-registry`. */
export type RegistryErrorCode = 'ERR_REFERENCE_INVALID';

/** Which part of a reference is wrong. */
export type ReferencePart = 'reference' | 'registry' | 'repository' | 'tag' | 'digest';

/** Fields a {@link RegistryError} may carry besides its code and message. */
export interface RegistryErrorDetails {
  /** The reference as given. */
  readonly reference?: string;
  /** For `ERR_REFERENCE_INVALID`: the part that is wrong. */
  readonly part?: ReferencePart;
  readonly cause?: unknown;
}

/** A failure of the registry client: a bad reference (and, next, the registry's own errors). */
export class RegistryError extends StevedoreError<RegistryErrorCode> {
  readonly reference: string | undefined;
  readonly part: ReferencePart | undefined;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(code, message, 'cause' in details ? { cause: details.cause } : {});
    this.reference = details.reference;
    this.part = details.part;
  }
}
