// The distribution-spec's error codes ("Error Codes") and how the server answers them:
// `{"errors":[{"code","message","detail"}]}` with the status the spec gives each code.

/** A distribution-spec error code. */
export type DistributionErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'PAGINATION_NUMBER_INVALID'
  | 'RANGE_INVALID'
  | 'UNKNOWN';

/** An answer with a distribution-spec error body, thrown by the endpoints and written by the handler. */
export class DistributionError extends Error {
  readonly status: number;
  readonly code: DistributionErrorCode;
  readonly detail: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: DistributionErrorCode,
    message: string,
    detail?: unknown,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }

  override get name(): string {
    return 'DistributionError';
  }

  /** The JSON body the spec describes. */
  body(): string {
    const error = {
      code: this.code,
      message: this.message,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
    };
    return JSON.stringify({ errors: [error] });
  }
}
