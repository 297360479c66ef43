// The `default` branch of `#hash-backend`, for Deno, Bun, browsers and workers:
// hash-wasm's WebAssembly SHA-2.
import { createSHA256, createSHA512 } from 'hash-wasm';
import type { OpenHash } from './hash-backend.ts';

/** @internal */
export const openHash: OpenHash = async (algorithm) => {
  const hash = await (algorithm === 'sha256' ? createSHA256() : createSHA512());
  return {
    update: (bytes) => void hash.update(bytes),
    digestHex: () => hash.digest('hex'),
  };
};
