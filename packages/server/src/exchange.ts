// What every endpoint works with: the request, the store, and the answer it returns for
// the handler to write.
import type { IncomingMessage } from 'node:http';
import { type Digest, isComputableAlgorithm, isDigest, parseDigest } from '@stevedore/digest';
import { DistributionError } from './registry-error.ts';
import type { FileBody } from './send-file.ts';
import type { RegistryStore } from './store.ts';

/** One request as the endpoints see it. */
export interface Exchange {
  readonly method: string;
  readonly request: IncomingMessage;
  readonly query: URLSearchParams;
  readonly store: RegistryStore;
  readonly limits: RegistryLimits;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** What an endpoint answers; the handler writes it (a HEAD answer without its body). */
export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: Uint8Array | string | AsyncIterable<Uint8Array> | FileBody;
}

/** The limits the server enforces. */
export interface RegistryLimits {
  /** The largest manifest accepted, in bytes; default 4 MiB (the spec's minimum). */
  readonly maxManifestSize: number;
  /** The most entries one page of tags, catalog or referrers holds; default 1000. */
  readonly maxPageSize: number;
  /** How long an upload session may sit idle before it is removed, in ms; default 1 hour. */
  readonly uploadIdleTimeout: number;
}

/** The defaults of {@link RegistryLimits}. */
export const DEFAULT_LIMITS: RegistryLimits = {
  maxManifestSize: 4 * 1024 * 1024,
  maxPageSize: 1000,
  uploadIdleTimeout: 60 * 60 * 1000,
};

/** A digest from a path or query: sha256 or sha512 (what the server can verify), else `DIGEST_INVALID`. */
export function requestDigest(text: string | null | undefined): Digest {
  if (text === null || text === undefined || text === '') {
    throw new DistributionError(400, 'DIGEST_INVALID', 'a digest is required');
  }
  const digest = isDigest(text) ? parseDigest(text) : undefined;
  if (digest === undefined || !isComputableAlgorithm(digest.algorithm)) {
    throw new DistributionError(400, 'DIGEST_INVALID', `${cut(text)} is not a sha256 or sha512 digest`, {
      digest: cut(text),
    });
  }
  return digest;
}

/** The request body, whole, refused with 413 `SIZE_INVALID` past `limit` bytes. */
export async function readBody(exchange: Exchange, limit: number): Promise<Uint8Array> {
  const declared = Number(exchange.request.headers['content-length'] ?? Number.NaN);
  if (declared > limit) throw tooLarge(declared, limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of exchange.request as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(size, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(size: number, limit: number): DistributionError {
  return new DistributionError(
    413,
    'SIZE_INVALID',
    `the body is larger than ${limit} bytes`,
    { size, limit },
    {
      connection: 'close',
    },
  );
}

/** A value cut short for a message. */
export function cut(text: string, length = 80): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
