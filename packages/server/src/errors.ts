import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/server`. */
export type ServerErrorCode =
  /** `startServer` or `createRegistryHandler` options that cannot work (a non-loopback host without `auth`, …). */
  | 'ERR_SERVER_OPTIONS'
  /** An htpasswd file or map that cannot be read: a line without `user:hash`, a hash other than bcrypt. */
  | 'ERR_HTPASSWD_INVALID'
  /** A blob, upload session or record the store does not hold. */
  | 'ERR_STORE_NOT_FOUND'
  /** An upload append at an offset other than the session's size. */
  | 'ERR_STORE_OFFSET';

/** Fields a {@link ServerError} may carry besides its code and message. */
export interface ServerErrorDetails {
  /** The option, file, digest or session involved. */
  readonly subject?: string;
  readonly expected?: string | number;
  readonly actual?: string | number;
  readonly cause?: unknown;
}

/** A failure of the registry server, its options or its store. */
export class ServerError extends StevedoreError<ServerErrorCode> {
  readonly subject: string | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;

  constructor(code: ServerErrorCode, message: string, details: ServerErrorDetails = {}) {
    super(code, message, details);
    this.subject = details.subject;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** The store's error for something it does not hold. */
export function notFound(what: string): ServerError {
  return new ServerError('ERR_STORE_NOT_FOUND', `the store holds no ${what}`, { subject: what });
}

/** The store's error for an append at the wrong offset. */
export function wrongOffset(id: string, expected: number, actual: number): ServerError {
  return new ServerError(
    'ERR_STORE_OFFSET',
    `upload ${id} has ${expected} bytes; cannot append at offset ${actual}`,
    { subject: id, expected, actual },
  );
}
