// Blob uploads (distribution-spec, "Pushing blobs"): monolithic POST, POST then PUT,
// chunked PATCHes with Content-Range, streamed PATCH, status GET, cancel DELETE, and
// cross-repository mounts. Bytes are hashed as they arrive, so finishing an upload does
// not read it again unless the server restarted in between.
import { createHasher, type Hasher } from '@stevedore/digest';
import { isRepositoryName } from '@stevedore/transport-registry';
import { ServerError } from './errors.ts';
import { cut, type Exchange, type Reply, requestDigest } from './exchange.ts';
import { DistributionError } from './registry-error.ts';
import type { RegistryStore, UploadSession } from './store.ts';

/** Live upload state the store does not keep: the running sha256 of each session. */
export class Uploads {
  readonly #store: RegistryStore;
  readonly #hashers = new Map<string, { hasher: Hasher; size: number }>();
  readonly #busy = new Set<string>();
  readonly #idleTimeout: number;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Whether a mount without `from` may find the blob in any repository. */
  readonly #discoverContent: boolean;

  constructor(store: RegistryStore, idleTimeout: number, discoverContent: boolean) {
    this.#store = store;
    this.#idleTimeout = idleTimeout;
    this.#discoverContent = discoverContent;
    this.#timer = setInterval(
      () => void this.expire().catch(() => {}),
      Math.max(1000, Math.min(idleTimeout / 4, 60_000)),
    );
    this.#timer.unref();
  }

  /** Removes the sessions idle for longer than the timeout; resolves to how many. */
  async expire(now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const session of this.#store.listUploads()) {
      if (this.#busy.has(session.id) || now - session.updated <= this.#idleTimeout) continue;
      await this.#store.deleteUpload(session.id);
      this.#hashers.delete(session.id);
      removed += 1;
    }
    return removed;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** POST `/v2/<name>/blobs/uploads/`: a mount, a monolithic upload, or a new session. */
  async start(exchange: Exchange, name: string): Promise<Reply> {
    const { query } = exchange;
    const mount = query.get('mount');
    if (mount !== null) {
      const mounted = await this.#mount(name, requestDigest(mount).toString(), query.get('from'));
      if (mounted !== undefined) return mounted;
    }
    const session = await this.#store.createUpload(name);
    const digest = query.get('digest');
    if (digest === null) return sessionReply(202, name, session);
    await this.#append(exchange, session, undefined);
    return this.#finish(exchange, name, session.id, digest);
  }

  async #mount(name: string, digest: string, from: string | null): Promise<Reply | undefined> {
    const found =
      from === null
        ? this.#discoverContent && (await this.#store.blobInfo(digest)) !== undefined
        : isRepositoryName(from) && (await this.#store.hasBlobLink(from, digest));
    if (!found) return undefined;
    await this.#store.linkBlob(name, digest);
    return blobReply(name, digest);
  }

  /** PATCH: appends a chunk (with `Content-Range`) or the streamed rest (without). */
  async patch(exchange: Exchange, name: string, id: string): Promise<Reply> {
    const session = await this.#session(name, id);
    const size = await this.#append(exchange, session, exchange.request.headers['content-range']);
    return sessionReply(202, name, { ...session, size });
  }

  /** PUT: the last chunk, if any, then the digest check and the blob. */
  async finish(exchange: Exchange, name: string, id: string): Promise<Reply> {
    const session = await this.#session(name, id);
    const digest = exchange.query.get('digest');
    requestDigest(digest); // before taking the body
    await this.#append(exchange, session, exchange.request.headers['content-range']);
    return this.#finish(exchange, name, id, digest as string);
  }

  /** GET: where the session stands. */
  async status(name: string, id: string): Promise<Reply> {
    const session = await this.#session(name, id);
    return sessionReply(204, name, session);
  }

  /** DELETE: cancels the session. */
  async cancel(name: string, id: string): Promise<Reply> {
    await this.#session(name, id);
    await this.#store.deleteUpload(id);
    this.#hashers.delete(id);
    return { status: 204 };
  }

  async #session(name: string, id: string): Promise<UploadSession> {
    const session = await this.#store.uploadSession(id);
    if (session === undefined || session.repository !== name) {
      throw new DistributionError(
        404,
        'BLOB_UPLOAD_UNKNOWN',
        `upload ${cut(id)} is unknown to repository ${name}`,
        {
          id: cut(id),
        },
      );
    }
    return session;
  }

  // Appends the request body, checking `Content-Range` (`<start>-<end>`, inclusive) against
  // the session's size, hashing what arrives while the running hash is in step.
  async #append(
    exchange: Exchange,
    session: UploadSession,
    contentRange: string | undefined,
  ): Promise<number> {
    const length = exchange.request.headers['content-length'];
    if (contentRange !== undefined) {
      const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(contentRange.trim());
      const start = Number(match?.[1]);
      const end = Number(match?.[2]);
      if (
        match === null ||
        start !== session.size ||
        end < start ||
        (length !== undefined && Number(length) !== end - start + 1)
      ) {
        throw new DistributionError(
          416,
          'BLOB_UPLOAD_INVALID',
          `the chunk ${cut(contentRange)} does not continue the upload, which has ${session.size} bytes`,
          { size: session.size },
          { location: uploadLocation(session.repository, session.id), range: rangeHeader(session.size) },
        );
      }
    }
    if (
      length === '0' ||
      (length === undefined && exchange.request.headers['transfer-encoding'] === undefined)
    ) {
      return session.size;
    }
    if (this.#busy.has(session.id)) {
      throw new DistributionError(
        416,
        'BLOB_UPLOAD_INVALID',
        `upload ${session.id} is receiving another chunk`,
      );
    }
    this.#busy.add(session.id);
    let tracked = this.#hashers.get(session.id);
    if (tracked === undefined && session.size === 0) {
      tracked = { hasher: await createHasher('sha256'), size: 0 };
      this.#hashers.set(session.id, tracked);
    }
    const hashing = tracked !== undefined && tracked.size === session.size ? tracked : undefined;
    this.#hashers.delete(session.id); // back once the append has fully succeeded
    async function* hashed(body: AsyncIterable<Uint8Array>) {
      for await (const chunk of body) {
        hashing?.hasher.update(chunk);
        yield chunk;
      }
    }
    try {
      const size = await this.#store.appendUpload(
        session.id,
        session.size,
        hashed(exchange.request),
        exchange.signal,
      );
      if (hashing !== undefined) this.#hashers.set(session.id, { hasher: hashing.hasher, size });
      return size;
    } catch (error) {
      if (ServerError.is(error, 'ERR_STORE_OFFSET')) {
        throw new DistributionError(416, 'BLOB_UPLOAD_INVALID', error.message, undefined, {
          range: rangeHeader(session.size),
        });
      }
      throw error;
    } finally {
      this.#busy.delete(session.id);
    }
  }

  async #finish(exchange: Exchange, name: string, id: string, digestText: string): Promise<Reply> {
    const expected = requestDigest(digestText);
    const tracked = this.#hashers.get(id);
    this.#hashers.delete(id);
    const session = await this.#session(name, id);
    let actual: string;
    if (tracked !== undefined && tracked.size === session.size && expected.algorithm === 'sha256') {
      actual = tracked.hasher.digest().toString();
    } else {
      const hasher = await createHasher(expected.algorithm as 'sha256' | 'sha512');
      for await (const chunk of this.#store.readUpload(id, exchange.signal)) hasher.update(chunk);
      actual = hasher.digest().toString();
    }
    if (actual !== expected.toString()) {
      await this.#store.deleteUpload(id);
      throw new DistributionError(
        400,
        'DIGEST_INVALID',
        `the upload's digest is ${actual}, not ${expected}`,
        {
          expected: expected.toString(),
          actual,
        },
      );
    }
    await this.#store.commitUpload(id, actual);
    await this.#store.linkBlob(name, actual);
    return blobReply(name, actual);
  }
}

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

// distribution's form: the last byte's offset, and `0-0` for an empty session.
function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sessionReply(status: number, name: string, session: UploadSession): Reply {
  return {
    status,
    headers: {
      location: uploadLocation(name, session.id),
      range: rangeHeader(session.size),
      'docker-upload-uuid': session.id,
    },
  };
}

function blobReply(name: string, digest: string): Reply {
  return {
    status: 201,
    headers: { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest },
  };
}
