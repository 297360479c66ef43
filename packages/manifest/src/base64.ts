// Base64 decoding without Buffer, so the package runs outside Node too.

const STANDARD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes standard, padded base64 (RFC 4648 section 4); `undefined` when malformed.
 * @internal
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!STANDARD.test(text)) return undefined;
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * Decodes unpadded base64url (RFC 4648 section 5), as JWS uses; `undefined` when malformed.
 * @internal
 */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!URL_SAFE.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return decodeBase64(padded);
}
