// Blobs (distribution-spec, "Pulling blobs", "Deleting Blobs"): visible in a repository
// once pushed or mounted there; manifests may be fetched as blobs too, as distribution allows.
import { cut, type Exchange, type Reply, requestDigest } from './exchange.ts';
import { DistributionError } from './registry-error.ts';
import type { ByteRange } from './store.ts';

async function isVisible(exchange: Exchange, name: string, digest: string): Promise<boolean> {
  return (
    (await exchange.store.hasBlobLink(name, digest)) ||
    (await exchange.store.manifestMediaType(name, digest)) !== undefined
  );
}

function unknownBlob(name: string, digest: string): DistributionError {
  return new DistributionError(404, 'BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, {
    digest,
  });
}

/** GET and HEAD of a blob, whole or one byte range (`Range: bytes=…`, 206). */
export async function getBlob(exchange: Exchange, name: string, digestText: string): Promise<Reply> {
  const digest = requestDigest(digestText).toString();
  const info = (await isVisible(exchange, name, digest)) ? await exchange.store.blobInfo(digest) : undefined;
  if (info === undefined) throw unknownBlob(name, digest);
  const headers = {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    etag: `"${digest}"`,
    'accept-ranges': 'bytes',
    'cache-control': 'max-age=31536000',
  };
  const header = exchange.request.headers.range;
  const range = header === undefined ? undefined : parseRange(header, info.size);
  const body =
    exchange.method === 'HEAD'
      ? undefined
      : await blobBody(exchange, digest, range ?? { start: 0, end: info.size });
  if (range === undefined) {
    return {
      status: 200,
      headers: { ...headers, 'content-length': info.size },
      ...(body === undefined ? {} : { body }),
    };
  }
  return {
    status: 206,
    headers: {
      ...headers,
      'content-length': range.end - range.start,
      'content-range': `bytes ${range.start}-${range.end - 1}/${info.size}`,
    },
    ...(body === undefined ? {} : { body }),
  };
}

// An open file where the store has one (sent with reused buffers), else the store's stream.
async function blobBody(exchange: Exchange, digest: string, range: ByteRange): Promise<Reply['body']> {
  const { store } = exchange;
  if (store.openBlobFile === undefined) return store.readBlob(digest, range, exchange.signal);
  const file = await store.openBlobFile(digest);
  if (file === undefined)
    throw new DistributionError(404, 'BLOB_UNKNOWN', `blob ${digest} is gone`, { digest });
  return { file, start: range.start, length: range.end - range.start };
}

/**
 * One range of `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (RFC 9110, 14.1.2).
 * Several ranges are answered whole, as RFC 9110 allows; a range that cannot be satisfied
 * is 416 with `Content-Range: bytes * /size`.
 */
export function parseRange(header: string, size: number): ByteRange | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) {
    if (/^bytes=.*,/.test(header)) return undefined;
    throw unsatisfiable(header, size);
  }
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') throw unsatisfiable(header, size);
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(header, size);
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  if (start >= size || end <= start) throw unsatisfiable(header, size);
  return { start, end };
}

function unsatisfiable(header: string, size: number): DistributionError {
  return new DistributionError(
    416,
    'RANGE_INVALID',
    `the range ${cut(header)} cannot be served from ${size} bytes`,
    { size },
    {
      'content-range': `bytes */${size}`,
    },
  );
}

/** DELETE of a blob: it is no longer visible in the repository (garbage collection frees its bytes). */
export async function deleteBlob(exchange: Exchange, name: string, digestText: string): Promise<Reply> {
  const digest = requestDigest(digestText).toString();
  if (!(await exchange.store.hasBlobLink(name, digest))) throw unknownBlob(name, digest);
  await exchange.store.unlinkBlob(name, digest);
  return { status: 202 };
}
