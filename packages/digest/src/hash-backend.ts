import type { ComputableAlgorithm } from './digest.ts';

/**
 * One running hash computation, as a hash backend provides it.
 * @internal
 */
export interface HashState {
  update(bytes: Uint8Array): void;
  /** Finishes the computation and gives the hash as lowercase hex. */
  digestHex(): string;
}

/**
 * Opens a hash computation. Each runtime branch (`#hash-backend`) implements it.
 * @internal
 */
export type OpenHash = (algorithm: ComputableAlgorithm) => Promise<HashState>;
