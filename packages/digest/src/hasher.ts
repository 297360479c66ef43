import { openHash } from '#hash-backend';
import { type ByteSource, iterateBytes } from './byte-source.ts';
import { type ComputableAlgorithm, Digest, isComputableAlgorithm, unsupportedAlgorithm } from './digest.ts';

/** An incremental hash: feed it chunks with `update`, then take the `digest` once. */
export interface Hasher {
  readonly algorithm: ComputableAlgorithm;
  /** Adds bytes to the hash. */
  update(bytes: Uint8Array): Hasher;
  /** Finishes the hash and returns its digest; the hasher cannot be used after. */
  digest(): Digest;
}

/**
 * Opens an incremental hasher: `node:crypto` in Node, WebAssembly elsewhere.
 *
 * @throws {DigestError} `ERR_UNSUPPORTED_ALGORITHM` for an algorithm other than sha256 or sha512.
 * @example
 * ```ts
 * const hasher = await createHasher('sha256');
 * for await (const chunk of stream) hasher.update(chunk);
 * const digest = hasher.digest();
 * ```
 */
export async function createHasher(algorithm: ComputableAlgorithm = 'sha256'): Promise<Hasher> {
  if (typeof algorithm !== 'string') {
    throw new TypeError(`createHasher: expected an algorithm name, got ${typeof algorithm}`);
  }
  if (!isComputableAlgorithm(algorithm)) throw unsupportedAlgorithm(algorithm);
  const state = await openHash(algorithm);
  let finished = false;
  const hasher: Hasher = {
    algorithm,
    update(bytes) {
      if (finished) throw new Error('Hasher.update: the digest was already taken');
      if (!(bytes instanceof Uint8Array)) {
        throw new TypeError('Hasher.update: expected a Uint8Array');
      }
      state.update(bytes);
      return hasher;
    },
    digest() {
      if (finished) throw new Error('Hasher.digest: the digest was already taken');
      finished = true;
      return new Digest(algorithm, state.digestHex());
    },
  };
  return hasher;
}

/** Options for {@link computeDigest}. */
export interface ComputeDigestOptions {
  readonly signal?: AbortSignal;
}

/**
 * Computes the digest of bytes or of a whole stream.
 *
 * @throws {DigestError} `ERR_UNSUPPORTED_ALGORITHM`.
 * @example
 * ```ts
 * const digest = await computeDigest(new TextEncoder().encode('abc'));
 * digest.toString(); // 'sha256:ba7816bf…'
 * ```
 */
export async function computeDigest(
  source: ByteSource,
  algorithm: ComputableAlgorithm = 'sha256',
  options: ComputeDigestOptions = {},
): Promise<Digest> {
  const hasher = await createHasher(algorithm);
  for await (const chunk of iterateBytes(source, options.signal)) hasher.update(chunk);
  return hasher.digest();
}
