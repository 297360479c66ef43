// Just enough JSON Web Token (RFC 7519) for the Docker token protocol: compact JWS
// (RFC 7515) signed with ES256 (ECDSA P-256 and SHA-256, RFC 7518 section 3.4), nothing else.
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** The protected header of a token: always `alg: 'ES256'`. */
export interface JwtHeader {
  readonly alg: string;
  readonly typ?: string;
  readonly kid?: string;
  readonly [name: string]: unknown;
}

/** The claims of a token (RFC 7519, section 4.1), times in seconds since the epoch. */
export interface JwtClaims {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly [name: string]: unknown;
}

/** What {@link verifyJwt} checks besides the signature. */
export interface VerifyJwtOptions {
  /** The time to check `exp`, `nbf` and `iat` against; defaults to now. */
  readonly now?: Date;
  /** Clock skew tolerated, in seconds; default 60. */
  readonly leewaySeconds?: number;
  /** When given, `aud` must be it or a list containing it. */
  readonly audience?: string;
  /** When given, `iss` must be it. */
  readonly issuer?: string;
}

/** The outcome of {@link verifyJwt}: the header and claims, or why the token is refused. */
export type JwtVerification =
  | { readonly ok: true; readonly header: JwtHeader; readonly claims: JwtClaims }
  | { readonly ok: false; readonly reason: string };

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const P1363_SIGNATURE_BYTES = 64;

/**
 * Signs `claims` as a compact ES256 token. The header is `{ alg: 'ES256', typ: 'JWT' }`
 * plus `header` (a `kid`, say), which cannot change `alg`.
 *
 * @throws {TypeError} when `privateKey` is not an EC P-256 private key.
 * @example
 * ```ts
 * const token = signJwt({ sub: 'alice', exp }, privateKey, { kid: computeJwtKeyId(publicKey) });
 * ```
 */
export function signJwt(
  claims: object,
  privateKey: KeyObject,
  header: Readonly<Record<string, unknown>> = {},
): string {
  checkKey(privateKey, 'private');
  const protectedHeader = Object.assign({ alg: 'ES256', typ: 'JWT' }, header, { alg: 'ES256' });
  const input = `${encodeSegment(protectedHeader)}.${encodeSegment(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * Checks a compact ES256 token: its form, `alg` (only `ES256`: `none` and the others are
 * refused), its signature by `publicKey` (a private key is accepted too), a required
 * `exp` and an optional `nbf` and `iat` with `leewaySeconds` of skew, and `aud` and `iss`
 * when asked. Never throws for a bad token: the reason comes back instead.
 *
 * @throws {TypeError} when `publicKey` is not an EC P-256 key.
 */
export function verifyJwt(
  token: string,
  publicKey: KeyObject,
  options: VerifyJwtOptions = {},
): JwtVerification {
  const key = checkKey(publicKey, 'any');
  const refuse = (reason: string): JwtVerification => ({ ok: false, reason });
  if (typeof token !== 'string') return refuse('the token is not a string');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    return refuse('the token is not a compact JWS (three base64url parts)');
  }
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeSegment(headerPart);
  if (header === undefined) return refuse('the token header is not a JSON object');
  if (header.alg !== 'ES256')
    return refuse(`the token algorithm is ${JSON.stringify(header.alg)}, expected "ES256"`);
  // RFC 7515, section 4.1.11: extensions we do not understand must not be ignored.
  if (header.crit !== undefined) return refuse('the token header has critical extensions ("crit")');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (
    signature.byteLength !== P1363_SIGNATURE_BYTES ||
    !verify(
      'sha256',
      Buffer.from(`${headerPart}.${claimsPart}`),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
    )
  ) {
    return refuse('the token signature does not verify');
  }
  const claims = decodeSegment(claimsPart);
  if (claims === undefined) return refuse('the token claims are not a JSON object');

  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const leeway = options.leewaySeconds ?? 60;
  const { exp, nbf, iat, aud, iss } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return refuse('the token has no expiry ("exp")');
  if (exp <= now - leeway) return refuse('the token has expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + leeway)) {
    return refuse('the token is not valid yet ("nbf")');
  }
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + leeway)) {
    return refuse('the token is issued in the future ("iat")');
  }
  if (options.audience !== undefined) {
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) {
      return refuse(`the token audience is not ${JSON.stringify(options.audience)}`);
    }
  }
  if (options.issuer !== undefined && iss !== options.issuer) {
    return refuse(`the token issuer is not ${JSON.stringify(options.issuer)}`);
  }
  return { ok: true, header: header as JwtHeader, claims: claims as JwtClaims };
}

/**
 * The key id of a public key, in libtrust's form (what distribution puts in `kid`): the
 * first 240 bits of the SHA-256 of its DER SubjectPublicKeyInfo, in base32, in groups of
 * four separated by colons.
 *
 * @example
 * ```ts
 * computeJwtKeyId(publicKey); // twelve groups of four base32 characters: 'ABCD:EFGH:…'
 * ```
 */
export function computeJwtKeyId(publicKey: KeyObject): string {
  const key = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  return encodeBase32(digest).match(/.{4}/g)?.join(':') ?? '';
}

function checkKey(key: KeyObject, kind: 'private' | 'any'): KeyObject {
  const isKey =
    typeof key === 'object' &&
    key !== null &&
    typeof key.type === 'string' &&
    key.asymmetricKeyType === 'ec' &&
    key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!isKey || (kind === 'private' && key.type !== 'private')) {
    throw new TypeError(`ES256 needs an EC P-256 ${kind === 'private' ? 'private ' : ''}key`);
  }
  return key.type === 'private' ? createPublicKey(key) : key;
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeSegment(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// RFC 4648 base32, without padding (the input here is always a multiple of 5 bytes).
function encodeBase32(bytes: Uint8Array): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      text += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) text += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return text;
}
