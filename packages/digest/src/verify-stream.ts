import { type ByteSource, iterateBytes } from './byte-source.ts';
import { type Digest, requireComputable, toDigest } from './digest.ts';
import { DigestError } from './errors.ts';
import { createHasher } from './hasher.ts';

/** What a stream must hash to: a descriptor's digest and, when known, its size. */
export interface ExpectedContent {
  readonly digest: Digest | string;
  /** The exact size in bytes; omit it when unknown (Docker schema 1 layers). */
  readonly size?: number | undefined;
}

/** Options for {@link verifyStream}. */
export interface VerifyStreamOptions {
  readonly signal?: AbortSignal;
}

/**
 * Passes a stream's chunks through unchanged while hashing and counting them, and
 * fails when they are not the expected content. A chunk that would take the count past
 * the expected size fails at once, before it is passed on; a short stream or a wrong
 * digest fails after the last chunk. The consumer must treat the bytes as unverified
 * until the iteration ends without an error.
 *
 * @throws {DigestError} `ERR_SIZE_MISMATCH` or `ERR_DIGEST_MISMATCH` (with `expected` and
 *   `actual`); `ERR_DIGEST_INVALID` or `ERR_UNSUPPORTED_ALGORITHM` for the expected digest.
 * @example
 * ```ts
 * for await (const chunk of verifyStream(response.body, descriptor)) await file.write(chunk);
 * ```
 */
export async function* verifyStream(
  source: ByteSource,
  expected: ExpectedContent,
  options: VerifyStreamOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const digest = toDigest(expected.digest);
  const { size } = expected;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw new RangeError(`verifyStream: size must be a non-negative safe integer, got ${size}`);
  }
  const hasher = await createHasher(requireComputable(digest));
  let received = 0;
  for await (const chunk of iterateBytes(source, options.signal)) {
    received += chunk.byteLength;
    if (size !== undefined && received > size) {
      throw new DigestError(
        'ERR_SIZE_MISMATCH',
        `content of ${digest} is larger than its expected ${size} bytes (read ${received} so far)`,
        { expected: size, actual: received },
      );
    }
    hasher.update(chunk);
    yield chunk;
  }
  if (size !== undefined && received !== size) {
    throw new DigestError(
      'ERR_SIZE_MISMATCH',
      `content of ${digest} ended after ${received} bytes; expected ${size}`,
      { expected: size, actual: received },
    );
  }
  const actual = hasher.digest();
  if (!actual.equals(digest)) {
    throw new DigestError('ERR_DIGEST_MISMATCH', `content hashes to ${actual}; expected ${digest}`, {
      expected: digest.toString(),
      actual: actual.toString(),
    });
  }
}

/**
 * Checks bytes held whole (a manifest, a config) against a digest and size.
 * @throws {DigestError} as {@link verifyStream}.
 */
export async function verifyBytes(bytes: Uint8Array, expected: ExpectedContent): Promise<void> {
  for await (const _chunk of verifyStream(bytes, expected)) {
    // verifyStream checks as the bytes pass; there is nothing else to do with them here.
  }
}
