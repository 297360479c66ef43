// The `node` branch of `#hash-backend`: OpenSSL through node:crypto, which uses the
// CPU's SHA extensions where present (about six times a portable implementation).
import { createHash } from 'node:crypto';
import type { OpenHash } from './hash-backend.ts';

/** @internal */
export const openHash: OpenHash = async (algorithm) => {
  const hash = createHash(algorithm);
  return {
    update: (bytes) => void hash.update(bytes),
    digestHex: () => hash.digest('hex'),
  };
};
