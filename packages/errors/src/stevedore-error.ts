const brand = Symbol.for('stevedore.error');

/** Options for {@link StevedoreError}: the cause and any data fields worth keeping. */
export interface StevedoreErrorOptions {
  /** The error that led to this one. */
  readonly cause?: unknown;
}

/**
 * The base class of every domain error Stevedore throws: a stable string `code`
 * (`ERR_SCREAMING_SNAKE`, part of the API), a message that names what failed, and the
 * offending values in fields of the subclass.
 *
 * Marked with `Symbol.for('stevedore.error')`, so {@link StevedoreError.is} works even
 * when two copies of this package are installed.
 *
 * @example
 * ```ts
 * try {
 *   parseDigest(text);
 * } catch (error) {
 *   if (StevedoreError.is(error, 'ERR_DIGEST_INVALID')) console.error(error.message);
 * }
 * ```
 */
export class StevedoreError<Code extends string = string> extends Error {
  /** The stable error code, for example `ERR_DIGEST_MISMATCH`. */
  readonly code: Code;

  constructor(code: Code, message: string, options: StevedoreErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  override get name(): string {
    return 'StevedoreError';
  }

  /**
   * Whether `error` is a Stevedore error (from any copy of this package), optionally
   * with the given code or one of the given codes.
   */
  static is<Code extends string = string>(
    error: unknown,
    code?: Code | readonly Code[],
  ): error is StevedoreError<Code> {
    if (typeof error !== 'object' || error === null || !(brand in error)) return false;
    if (code === undefined) return true;
    const actual = (error as { code?: unknown }).code;
    return typeof code === 'string' ? actual === code : (code as readonly unknown[]).includes(actual);
  }
}

/**
 * Shortens a value for an error message: strings longer than `max` characters are cut
 * and marked with an ellipsis; other values are shown as JSON.
 */
export function excerpt(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value instanceof Uint8Array) text = `<${value.byteLength} bytes>`;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
