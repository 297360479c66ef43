import { excerpt } from '@stevedore/errors';
import { DigestError, invalidDigest } from './errors.ts';

/** The algorithms Stevedore can compute. */
export type ComputableAlgorithm = 'sha256' | 'sha512';

/** A digest algorithm name: a computable one, or any name the image-spec grammar allows. */
export type DigestAlgorithm = ComputableAlgorithm | (string & {});

// image-spec, descriptor.md "Digests": algorithm-component ::= [a-z0-9]+,
// algorithm-separator ::= [+._-], encoded ::= [a-zA-Z0-9=_-]+
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED = /^[a-zA-Z0-9=_-]+$/;

// Registered algorithms fix the encoding: lowercase hex of the hash's length.
const REGISTERED: Readonly<Record<ComputableAlgorithm, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** Whether `algorithm` is one Stevedore can compute (`sha256`, `sha512`). */
export function isComputableAlgorithm(algorithm: string): algorithm is ComputableAlgorithm {
  return Object.hasOwn(REGISTERED, algorithm);
}

/**
 * A content digest: an algorithm and its encoded hash, as in `sha256:<64 hex>`.
 * Immutable; `toString()` and `toJSON()` give the canonical text.
 */
export class Digest {
  /** The algorithm, for example `sha256`. */
  readonly algorithm: DigestAlgorithm;
  /** The encoded hash: lowercase hex for `sha256` and `sha512`. */
  readonly encoded: string;

  /**
   * Makes a digest from its two parts, validated by the image-spec grammar.
   * @throws {DigestError} `ERR_DIGEST_INVALID` when a part does not fit the grammar.
   */
  constructor(algorithm: DigestAlgorithm, encoded: string) {
    if (typeof algorithm !== 'string' || typeof encoded !== 'string') {
      throw new TypeError('Digest: algorithm and encoded must be strings');
    }
    const text = `${algorithm}:${encoded}`;
    if (!ALGORITHM.test(algorithm)) {
      throw invalidDigest(text, 'the algorithm must match [a-z0-9]+([+._-][a-z0-9]+)*');
    }
    if (!ENCODED.test(encoded)) {
      throw invalidDigest(text, 'the encoded part must match [a-zA-Z0-9=_-]+');
    }
    const registered = isComputableAlgorithm(algorithm) ? REGISTERED[algorithm] : undefined;
    if (registered !== undefined && !registered.test(encoded)) {
      const length = algorithm === 'sha256' ? 64 : 128;
      throw invalidDigest(text, `${algorithm} needs ${length} lowercase hex characters`);
    }
    this.algorithm = algorithm;
    this.encoded = encoded;
    Object.freeze(this);
  }

  /** The canonical text, `<algorithm>:<encoded>`. */
  toString(): string {
    return `${this.algorithm}:${this.encoded}`;
  }

  /** The canonical text, so a digest serializes as a JSON string. */
  toJSON(): string {
    return this.toString();
  }

  /** Whether `other` (a digest or its text) names the same content. */
  equals(other: Digest | string): boolean {
    return this.toString() === String(other);
  }
}

/**
 * Parses a digest string by the image-spec grammar.
 * Unregistered algorithms that fit the grammar parse, but cannot be computed.
 *
 * @throws {DigestError} `ERR_DIGEST_INVALID` naming the part that is wrong.
 * @example
 * ```ts
 * const digest = parseDigest('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
 * digest.algorithm; // 'sha256'
 * ```
 */
export function parseDigest(text: string): Digest {
  if (typeof text !== 'string') {
    throw new TypeError(`parseDigest: expected a string, got ${typeof text}`);
  }
  const colon = text.indexOf(':');
  if (colon < 0) throw invalidDigest(text, 'expected <algorithm>:<encoded>');
  return new Digest(text.slice(0, colon), text.slice(colon + 1));
}

/** Whether `value` is a string that {@link parseDigest} accepts (checked without throwing: cheap on hot paths). */
export function isDigest(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const colon = value.indexOf(':');
  if (colon < 0) return false;
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (!ALGORITHM.test(algorithm) || !ENCODED.test(encoded)) return false;
  return !isComputableAlgorithm(algorithm) || REGISTERED[algorithm].test(encoded);
}

/**
 * A digest from a digest or its text; digests pass through.
 * @throws {DigestError} `ERR_DIGEST_INVALID`.
 */
export function toDigest(value: Digest | string): Digest {
  // String() also accepts a Digest from another copy of this package.
  return value instanceof Digest ? value : parseDigest(String(value));
}

/** @internal */
export function requireComputable(digest: Digest): ComputableAlgorithm {
  const { algorithm } = digest;
  if (!isComputableAlgorithm(algorithm)) throw unsupportedAlgorithm(algorithm);
  return algorithm;
}

/** @internal */
export function unsupportedAlgorithm(algorithm: string): DigestError {
  return new DigestError(
    'ERR_UNSUPPORTED_ALGORITHM',
    `cannot compute digests with algorithm ${excerpt(algorithm)}; supported: sha256, sha512`,
    { value: algorithm },
  );
}
