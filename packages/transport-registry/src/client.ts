// The distribution-spec client: HTTP through undici (a keep-alive pool per registry; big
// blobs for readers that allow it through `socketGet`, into reused buffers),
// challenge-driven auth (Basic, and Bearer tokens from the registry's token service with
// the scopes each request needs, shared by concurrent requests and cached until they
// expire), retries, and the operations: manifests, blobs, uploads, tags, catalog, referrers.
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import { concatBytes, DigestError, verifyStream } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import type { ManifestBytes } from '@stevedore/image';
import {
  ACCEPTED_MANIFEST_MEDIA_TYPES,
  type Descriptor,
  MAX_MANIFEST_SIZE,
  type Manifest,
  MediaTypes,
  manifestDigest,
  manifestSubject,
  parseContentType,
  parseManifest,
  referrerDescriptor,
  referrersTag,
  serializeManifest,
  withReferrer,
} from '@stevedore/manifest';
import type { Agent } from 'undici';
import type { Answer } from './answer.ts';
import { type Challenge, mergeScopes, parseChallenges, type Scope } from './challenge.ts';
import { type Credentials, findCredentials } from './credentials.ts';
import { RegistryError } from './errors.ts';
import { KeyedLimit } from './host-limit.ts';
import { formatReference, type Reference, registryApiHost, repositoryOf, toReference } from './reference.ts';
import { socketGet } from './socket-get.ts';

/** Options for {@link RegistryClient}. */
export interface RegistryClientOptions {
  /**
   * Credentials per registry; by default the stored ones ({@link findCredentials}).
   * Answer `undefined` for anonymous access.
   */
  readonly credentials?: (registry: string, repository: string) => Promise<Credentials | undefined>;
  /** Registries reached over plain HTTP besides `localhost`, 127.0.0.0/8 and `[::1]`. */
  readonly insecure?: readonly string[];
  /** Certificate authorities (PEM) trusted for HTTPS besides Node's bundled roots. */
  readonly ca?: string | readonly string[];
  readonly userAgent?: string;
  /**
   * Retries of an idempotent request (GET, HEAD, PUT of a manifest) after a network error,
   * a 429 or a 5xx: default 4, with exponential backoff from `retryDelay` ms (default 250)
   * and jitter, or after the `Retry-After` the registry asks for (up to a minute).
   */
  readonly retries?: number;
  readonly retryDelay?: number;
  /**
   * Retries one host gets in a row (default `concurrencyPerHost` × `retries`, 32): once a
   * host has had that many retries since it last answered well, its failures are final
   * until it answers well again, so a registry that is down is not hammered by every
   * request waiting for it, while one that restarts is waited for by all of them.
   */
  readonly retryBudget?: number;
  /**
   * Requests to one host waiting for their answer at once (default 8); the others wait in
   * turn. A request holds its place until the answer's headers arrive, not while its body
   * is read. Streamed uploads are not counted (the copy's `concurrency` bounds them): one
   * holds the connection until its whole body is sent, and the blob read feeding it may
   * need a request to the same host.
   */
  readonly concurrencyPerHost?: number;
  /**
   * Blobs up to this size go in one PUT, bigger ones in one streamed PATCH; after a 413,
   * the size of each chunk (default 8 MiB, halved on further 413s, one chunk in memory
   * per upload).
   */
  readonly chunkSize?: number;
  /** Upload in chunks from the start (for registries known to sit behind a strict proxy). */
  readonly chunked?: readonly string[];
  /** Told about each retry (and, later, other events worth a log line). */
  readonly onEvent?: (event: RegistryEvent) => void;
}

/** Something a registry client did that a log or progress display may show. */
export type RegistryEvent = RegistryRetryEvent | RegistryResponseEvent;

/** A request about to be sent again. */
export interface RegistryRetryEvent {
  readonly type: 'retry';
  readonly method: string;
  readonly url: string;
  /** 1 for the first retry. */
  readonly attempt: number;
  /** How long the client waits before it. */
  readonly delayMs: number;
  /** The status that caused it, or the network error's message. */
  readonly reason: string;
}

/** An answer's status line arrived (its body may still be coming). */
export interface RegistryResponseEvent {
  readonly type: 'response';
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** From sending the request to the answer's headers. */
  readonly durationMs: number;
}

/** Options for {@link RegistryClient.putBlob}. */
export interface UploadOptions extends RequestOptions {
  /** Opens the blob again from the start, to send it in chunks after a 413. */
  readonly reopen?: () => Promise<AsyncIterable<Uint8Array>>;
}

/** What {@link RegistryClient.login} found. */
export interface LoginResult {
  /**
   * How the registry asked to log in: `basic`, `bearer` (a token service), or `none` when
   * it asked for no login (the credentials were then not checked).
   */
  readonly scheme: 'basic' | 'bearer' | 'none';
}

/** A token from a registry's token service ({@link RegistryClient.token}). */
export interface RegistryToken {
  readonly token: string;
  /** Its lifetime in seconds, when the token service said (`expires_in`). */
  readonly expiresIn?: number;
}

/** Options of each call. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/** Every manifest media type Stevedore reads, indexes first, for `Accept`. */
const MANIFEST_ACCEPT = ACCEPTED_MANIFEST_MEDIA_TYPES.join(', ');
/** The largest tags list, catalog page or token answer read. */
const MAX_JSON = 16 * 1024 * 1024;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const MIN_CHUNK = 64 * 1024;
/** The smallest blob read into reused buffers on a connection of its own, when the reader allows. */
const REUSED_BUFFERS_FROM = 1024 * 1024;

interface Call {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Under `/v2/<repository>/`, or an absolute URL (an upload session's). */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Needs the `push` scope besides `pull`. */
  readonly push?: boolean;
  /** Scopes the token must also carry (`pull` of a mount's source repository). */
  readonly alsoScopes?: readonly Scope[];
  /** `path` is under `/v2/` itself (the catalog), with the `registry:catalog:*` scope. */
  readonly registryWide?: boolean;
  /** Statuses answered rather than thrown. */
  readonly accepted?: readonly number[];
  /** A GET whose 2xx body may be read into reused buffers ({@link socketGet}). */
  readonly reuseBuffers?: boolean;
}

/** A page of referrers: an image index's `manifests`. */
interface ReferrersPage {
  readonly manifests?: Descriptor[];
}

/**
 * A client for OCI distribution registries.
 *
 * @example
 * ```ts
 * const client = new RegistryClient();
 * const { bytes, mediaType, digest } = await client.getManifest('alpine:3.19');
 * const tags = await client.listTags('alpine');
 * await client.close();
 * ```
 */
export class RegistryClient {
  /**
   * The connection pools, made on the first request: undici is loaded then (about 0.1 s
   * of start-up that a program copying only between local transports never pays).
   */
  #agent: Promise<Agent> | undefined;
  readonly #options: RegistryClientOptions;
  readonly #retries: number;
  readonly #credentials: (registry: string, repository: string) => Promise<Credentials | undefined>;
  /**
   * Authorization headers: Bearer tokens by registry and scopes, Basic by registry; kept
   * as promises so that concurrent requests wait for one token request.
   */
  readonly #authorizations = new Map<string, Promise<{ header: string; expires: number }>>();
  /** Credentials by registry and repository, looked up once (a helper is a process). */
  readonly #credentialsFound = new Map<string, Promise<Credentials | undefined>>();
  /** Registries that refused a whole blob with 413: uploads go in chunks there. */
  readonly #needsChunks = new Set<string>();
  /** Chunk sizes halved after a 413, per registry. */
  readonly #chunkSizes = new Map<string, number>();
  /** Places for requests waiting for an answer, per host. */
  readonly #hostLimit: KeyedLimit;
  /** Retries each host has had since it last answered well. */
  readonly #retriesInARow = new Map<string, number>();
  /** Updates of a referrers tag in flight, by tag: one at a time. */
  readonly #referrersTagUpdates = new Map<string, Promise<void>>();
  /** The certificates trusted for HTTPS: Node's roots and the `ca` option's, or the defaults. */
  readonly #ca: readonly string[] | undefined;
  readonly #userAgent: string;

  constructor(options: RegistryClientOptions = {}) {
    this.#options = options;
    this.#retries = options.retries ?? 4;
    this.#hostLimit = new KeyedLimit(options.concurrencyPerHost ?? 8);
    this.#credentials =
      options.credentials ?? ((registry, repository) => findCredentials(registry, repository));
    for (const registry of options.chunked ?? []) this.#needsChunks.add(registry);
    const { ca } = options;
    this.#ca = ca === undefined ? undefined : [...rootCertificates, ...(typeof ca === 'string' ? [ca] : ca)];
    this.#userAgent = options.userAgent ?? 'stevedore';
  }

  // The keep-alive pools, undici loaded on first use.
  #pools(): Promise<Agent> {
    this.#agent ??= import('undici').then(
      ({ Agent }) =>
        new Agent({ keepAliveTimeout: 30_000, connect: this.#ca === undefined ? {} : { ca: [...this.#ca] } }),
    );
    return this.#agent;
  }

  /** The base URL of a registry's API: HTTPS, or HTTP for loopback and insecure registries. */
  baseUrl(registry: string): string {
    const host = registryApiHost(registry);
    const name = host.replace(/:\d+$/, '');
    const plain =
      name === 'localhost' ||
      /^127\.\d+\.\d+\.\d+$/.test(name) ||
      name === '[::1]' ||
      (this.#options.insecure ?? []).includes(registry);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /**
   * A manifest's exact bytes by tag or digest, checked against the digest asked for or
   * the registry's `Docker-Content-Digest`.
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`MANIFEST_UNKNOWN`, `DENIED`, …);
   *   `DigestError` when the bytes are not what the registry or the reference says.
   */
  async getManifest(
    reference: string | Reference,
    options: RequestOptions = {},
  ): Promise<ManifestBytes & { readonly digest: string }> {
    const ref = toReference(reference);
    const answer = await this.#send(
      ref,
      {
        method: 'GET',
        path: `manifests/${ref.digest ?? ref.tag ?? 'latest'}`,
        headers: { accept: MANIFEST_ACCEPT },
      },
      options,
    );
    const bytes = await readLimited(answer, MAX_MANIFEST_SIZE, ref);
    const mediaType = parseContentType(header(answer, 'content-type') ?? '') ?? '';
    // Hashed once, as registries do (a signed schema 1 manifest by its JWS payload).
    const digest = (await manifestDigest(bytes)).toString();
    for (const expected of [ref.digest, header(answer, 'docker-content-digest')]) {
      if (expected !== undefined && expected !== digest) {
        throw new DigestError(
          'ERR_DIGEST_MISMATCH',
          `the manifest ${formatReference(ref)} hashes to ${digest}; expected ${expected}`,
          { expected, actual: digest },
        );
      }
    }
    return { bytes, mediaType, digest };
  }

  /**
   * What a registry holds under a tag or digest, without the body: the descriptor, or
   * `undefined` when it has nothing there.
   */
  async headManifest(
    reference: string | Reference,
    options: RequestOptions = {},
  ): Promise<Descriptor | undefined> {
    const ref = toReference(reference);
    const answer = await this.#send(
      ref,
      {
        method: 'HEAD',
        path: `manifests/${ref.digest ?? ref.tag ?? 'latest'}`,
        headers: { accept: MANIFEST_ACCEPT },
        accepted: [404],
      },
      options,
    );
    await answer.body.dump();
    if (answer.status === 404) return undefined;
    const digest = header(answer, 'docker-content-digest') ?? ref.digest;
    const length = header(answer, 'content-length');
    if (digest === undefined || length === undefined) {
      // The header is optional (distribution-spec): ask for the manifest itself.
      const got = await this.getManifest(ref, options);
      return { mediaType: got.mediaType, digest: got.digest, size: got.bytes.byteLength };
    }
    return {
      mediaType: parseContentType(header(answer, 'content-type') ?? '') ?? '',
      digest,
      size: Number(length),
    };
  }

  /**
   * A blob's bytes as a stream, verified against the descriptor as they come (redirects
   * to object storage followed, without the registry's `Authorization`).
   */
  async getBlob(
    repository: string | Reference,
    descriptor: Descriptor,
    options: RequestOptions & { readonly verify?: boolean; readonly transientChunks?: boolean } = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    const ref = toReference(repository);
    const path = `blobs/${descriptor.digest}`;
    // A reader done with each chunk when it asks for the next gets a big blob through a
    // few reused buffers (small ones keep to the pooled keep-alive connections).
    const reuseBuffers = options.transientChunks === true && descriptor.size >= REUSED_BUFFERS_FROM;
    const first = await this.#send(ref, { method: 'GET', path, reuseBuffers }, options);
    const resume = (offset: number) =>
      this.#send(ref, { method: 'GET', path, reuseBuffers, headers: { range: `bytes=${offset}-` } }, options);
    const url = `${this.baseUrl(ref.registry)}/v2/${ref.repository}/${path}`;
    const content = this.#resumable(first, descriptor, url, resume, options);
    // Unverified only for a caller that verifies (a destination: ImageDestination's contract).
    if (options.verify === false) return content;
    const size = descriptor.size < 0 ? undefined : descriptor.size;
    return verifyStream(content, { digest: descriptor.digest, size }, options);
  }

  // A blob's body that picks up where it broke off: after a dropped connection (or a body
  // that ends short of the descriptor's size) the rest is asked for with `Range`, up to
  // `retries` times; a registry that answers the whole blob again has its first bytes skipped.
  async *#resumable(
    first: Answer,
    descriptor: Descriptor,
    url: string,
    resume: (offset: number) => Promise<Answer>,
    options: RequestOptions,
  ): AsyncGenerator<Uint8Array> {
    let answer = first;
    let offset = 0;
    let skip = 0;
    for (let resumes = 0; ; resumes++) {
      let reason: string;
      try {
        for await (const chunk of chunksOf(answer.body)) {
          if (skip >= chunk.byteLength) {
            skip -= chunk.byteLength;
            continue;
          }
          const fresh = skip === 0 ? chunk : chunk.subarray(skip);
          skip = 0;
          offset += fresh.byteLength;
          yield fresh;
        }
        if (descriptor.size < 0 || offset >= descriptor.size) return;
        reason = `the body ended at byte ${offset} of ${descriptor.size}`;
      } catch (error) {
        options.signal?.throwIfAborted();
        reason = (error as Error).message;
        if (resumes >= this.#retries) throw error;
      }
      if (resumes >= this.#retries) return; // short: the verifier says so
      this.#options.onEvent?.({
        type: 'retry',
        method: 'GET',
        url,
        attempt: resumes + 1,
        delayMs: 0,
        reason,
      });
      answer = await resume(offset);
      // 206: the rest; 200: the whole blob again, whose first bytes were already given.
      skip = answer.status === 206 ? 0 : offset;
    }
  }

  /**
   * Every repository of a registry (`/v2/_catalog`), page after page. Registries may
   * refuse it (Docker Hub does) or list only what the credentials may see.
   */
  async listRepositories(
    registry: string,
    options: RequestOptions & { pageSize?: number } = {},
  ): Promise<string[]> {
    return this.#paginate({ registry, repository: '' }, '_catalog', 'repositories', options);
  }

  /**
   * The manifests that refer to `digest` through their `subject` (signatures, SBOMs,
   * attestations), from the referrers API, or from the `sha256-<hex>` tag where a
   * registry lacks it (distribution-spec 1.1, "Referrers Tag Schema"). With
   * `artifactType`, only those of that type (filtered here when the registry did not).
   */
  async listReferrers(
    repository: string | Reference,
    digest: string,
    options: RequestOptions & { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const ref = toReference(repository);
    const query =
      options.artifactType === undefined
        ? ''
        : `?${new URLSearchParams({ artifactType: options.artifactType })}`;
    const answer = await this.#send(
      ref,
      {
        method: 'GET',
        path: `referrers/${digest}${query}`,
        headers: { accept: MediaTypes.OciIndex },
        accepted: [404],
      },
      options,
    );
    const manifests: Descriptor[] = [];
    let filtered = false;
    if (answer.status === 404) {
      await answer.body.dump();
      const fallback = await this.#send(
        ref,
        {
          method: 'GET',
          path: `manifests/${referrersTag(digest)}`,
          headers: { accept: MediaTypes.OciIndex },
          accepted: [404],
        },
        options,
      );
      if (fallback.status === 404) {
        await fallback.body.dump();
        return [];
      }
      manifests.push(...((await readJson<ReferrersPage>(fallback, MAX_MANIFEST_SIZE, ref)).manifests ?? []));
    } else {
      filtered = (header(answer, 'oci-filters-applied') ?? '')
        .split(',')
        .map((name) => name.trim())
        .includes('artifactType');
      // Page after page, as the `Link` header says (distribution-spec, "Listing Referrers").
      let page: Answer | undefined = answer;
      while (page !== undefined) {
        manifests.push(...((await readJson<ReferrersPage>(page, MAX_MANIFEST_SIZE, ref)).manifests ?? []));
        const next = nextPage(page, 'referrers');
        page =
          next === undefined
            ? undefined
            : await this.#send(
                ref,
                { method: 'GET', path: next, headers: { accept: MediaTypes.OciIndex } },
                options,
              );
      }
    }
    return options.artifactType === undefined || filtered
      ? manifests
      : manifests.filter((entry) => entry.artifactType === options.artifactType);
  }

  /** Every tag of a repository, page after page (`Link` headers followed). */
  async listTags(
    repository: string | Reference,
    options: RequestOptions & { pageSize?: number } = {},
  ): Promise<string[]> {
    return this.#paginate(toReference(repository), 'tags/list', 'tags', options);
  }

  // Pages of a list endpoint, `Link` headers followed (distribution-spec, "Listing Tags").
  async #paginate(
    ref: Reference,
    endpoint: 'tags/list' | '_catalog',
    key: 'tags' | 'repositories',
    options: RequestOptions & { pageSize?: number },
  ): Promise<string[]> {
    const names: string[] = [];
    // At most 1000 per page: registries refuse or cap bigger pages (distribution: 1000).
    const size = Math.min(1000, Math.max(1, Math.floor(options.pageSize ?? 1000) || 1000));
    let path: string | undefined = `${endpoint}?n=${size}`;
    while (path !== undefined) {
      const registryWide = endpoint === '_catalog';
      const answer = await this.#send(ref, { method: 'GET', path, registryWide }, options);
      const page = await readJson<Record<string, string[] | null | undefined>>(answer, MAX_JSON, ref);
      names.push(...(page[key] ?? []));
      path = nextPage(answer, endpoint);
    }
    return names;
  }

  /**
   * The size of a blob the repository holds (HEAD, its `Content-Length`), or `undefined`
   * when it holds none by that digest: what a fetch by digest alone needs to verify.
   */
  async headBlob(
    repository: string | Reference,
    digest: string,
    options: RequestOptions = {},
  ): Promise<{ readonly digest: string; readonly size: number } | undefined> {
    const ref = toReference(repository);
    const answer = await this.#send(
      ref,
      { method: 'HEAD', path: `blobs/${digest}`, accepted: [404] },
      options,
    );
    await answer.body.dump();
    if (answer.status === 404) return undefined;
    const size = Number(header(answer, 'content-length'));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RegistryError(
        'ERR_REGISTRY_RESPONSE',
        `the registry gave no size for blob ${digest} of ${formatReference(ref)}`,
        {
          reference: formatReference(ref),
          status: answer.status,
        },
      );
    }
    return { digest, size };
  }

  /** Whether the repository holds a blob (HEAD), so a push can skip it. */
  async hasBlob(
    repository: string | Reference,
    descriptor: Descriptor,
    options: RequestOptions = {},
  ): Promise<boolean> {
    const ref = toReference(repository);
    const answer = await this.#send(
      ref,
      { method: 'HEAD', path: `blobs/${descriptor.digest}`, accepted: [404], push: true },
      options,
    );
    await answer.body.dump();
    return answer.status !== 404;
  }

  /**
   * Uploads a blob, streamed, never held whole in memory: a session is opened (POST,
   * which also settles the auth for the push scope); a blob up to `chunkSize` goes in one
   * PUT with its digest, a bigger one in one streamed PATCH and a closing PUT. When the
   * registry or a proxy answers 413 (too large), or closes the connection while the body
   * is being sent (a proxy that does not linger to let its 413 be read), the blob is sent
   * again (`reopen`) in chunks of `chunkSize`, halved on each further refusal, and the
   * registry is remembered as one that needs chunks. A chunk cut part way is resumed from
   * what the session's status (`GET`, `Range`) says the registry kept. The registry
   * checks the digest.
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`DIGEST_INVALID`, `DENIED`, …; a 413
   *   without `reopen`).
   */
  async putBlob(
    repository: string | Reference,
    descriptor: Descriptor,
    content: Uint8Array | AsyncIterable<Uint8Array>,
    options: UploadOptions = {},
  ): Promise<void> {
    const ref = toReference(repository);
    let rest = content;
    if (!this.#needsChunks.has(ref.registry)) {
      const session = await this.#openUpload(ref, options);
      const whole = descriptor.size <= this.#chunkSize(ref.registry);
      let sent: Answer | undefined;
      try {
        sent = await this.#send(
          ref,
          {
            method: whole ? 'PUT' : 'PATCH',
            path: whole ? withDigest(session, descriptor.digest) : session,
            headers: {
              'content-type': 'application/octet-stream',
              'content-length': String(descriptor.size),
            },
            body: content,
            push: true,
            accepted: [413],
          },
          options,
        );
      } catch (error) {
        // A proxy that refuses a big body may close the connection before its 413 can be
        // read (one without nginx's lingering close): taken as that refusal.
        if (!closedWhileSending(error) || (options.reopen === undefined && !(content instanceof Uint8Array)))
          throw error;
      }
      await sent?.body.dump();
      if (sent !== undefined && sent.status !== 413) {
        if (!whole) await this.#closeUpload(ref, nextLocation(sent, session), descriptor, options);
        return;
      }
      if (options.reopen === undefined && !(content instanceof Uint8Array)) {
        throw new RegistryError(
          'ERR_REGISTRY_RESPONSE',
          `${formatReference(ref)}: the registry (or a proxy) refused a ${descriptor.size}-byte upload as too large, and the blob cannot be read again to send it in chunks`,
          { reference: formatReference(ref), status: 413 },
        );
      }
      this.#needsChunks.add(ref.registry);
      // The first try consumed the stream: read the blob again from the start.
      if (!(content instanceof Uint8Array) && options.reopen !== undefined) rest = await options.reopen();
    }
    await this.#putChunks(ref, descriptor, rest, options);
  }

  // A chunked upload: PATCHes with Content-Range, each chunk halved again on a 413.
  async #putChunks(
    ref: Reference,
    descriptor: Descriptor,
    content: Uint8Array | AsyncIterable<Uint8Array>,
    options: RequestOptions,
  ): Promise<void> {
    let location = await this.#openUpload(ref, options);
    let offset = 0;
    for await (const block of rechunk(content, () => this.#chunkSize(ref.registry))) {
      const pending = [block];
      while (pending.length > 0) {
        const piece = pending.shift() as Uint8Array;
        let sent: Answer | undefined;
        try {
          sent = await this.#send(
            ref,
            {
              method: 'PATCH',
              path: location,
              headers: {
                'content-type': 'application/octet-stream',
                'content-length': String(piece.byteLength),
                'content-range': `${offset}-${offset + piece.byteLength - 1}`,
              },
              body: piece,
              push: true,
              accepted: [413],
            },
            options,
          );
        } catch (error) {
          if (!closedWhileSending(error)) throw error;
          // Cut while sending: what did the registry keep? Whatever it kept is not sent
          // again; nothing kept is taken as a refusal of the size (as a 413).
          const kept = await this.#uploadOffset(ref, location, options);
          if (kept === undefined || kept < offset || kept > offset + piece.byteLength) throw error;
          if (kept > offset) {
            pending.unshift(piece.subarray(kept - offset));
            offset = kept;
            continue;
          }
        }
        await sent?.body.dump();
        if (sent === undefined || sent.status === 413) {
          const smaller = Math.floor(piece.byteLength / 2);
          if (smaller < MIN_CHUNK) {
            throw new RegistryError(
              'ERR_REGISTRY_RESPONSE',
              `${formatReference(ref)}: the registry (or a proxy) refuses even ${piece.byteLength}-byte chunks as too large`,
              { reference: formatReference(ref), status: 413 },
            );
          }
          this.#chunkSizes.set(ref.registry, smaller);
          pending.unshift(piece.subarray(0, smaller), piece.subarray(smaller));
          continue;
        }
        location = nextLocation(sent, location);
        offset += piece.byteLength;
      }
    }
    await this.#closeUpload(ref, location, descriptor, options);
  }

  // How many bytes an upload session holds, from its status (`Range: 0-<last>`), or
  // undefined when the registry does not say. `0-0` is read as nothing held: distribution
  // answers it for an empty session too.
  async #uploadOffset(
    ref: Reference,
    location: string,
    options: RequestOptions,
  ): Promise<number | undefined> {
    try {
      const status = await this.#send(ref, { method: 'GET', path: location, push: true }, options);
      await status.body.dump();
      const range = /^0-(\d+)$/.exec(header(status, 'range') ?? '');
      if (range === null) return undefined;
      const last = Number(range[1]);
      return last === 0 ? 0 : last + 1;
    } catch {
      return undefined;
    }
  }

  async #openUpload(ref: Reference, options: RequestOptions): Promise<string> {
    const opened = await this.#send(ref, { method: 'POST', path: 'blobs/uploads/', push: true }, options);
    await opened.body.dump();
    const location = header(opened, 'location');
    if (location === undefined) {
      throw new RegistryError(
        'ERR_REGISTRY_RESPONSE',
        `${formatReference(ref)}: the upload session has no Location`,
        {
          reference: formatReference(ref),
          status: opened.status,
        },
      );
    }
    return new URL(location, `${this.baseUrl(ref.registry)}/`).toString();
  }

  async #closeUpload(
    ref: Reference,
    location: string,
    descriptor: Descriptor,
    options: RequestOptions,
  ): Promise<void> {
    const closed = await this.#send(
      ref,
      {
        method: 'PUT',
        path: withDigest(location, descriptor.digest),
        headers: { 'content-length': '0' },
        push: true,
      },
      options,
    );
    await closed.body.dump();
  }

  #chunkSize(registry: string): number {
    return this.#chunkSizes.get(registry) ?? this.#options.chunkSize ?? DEFAULT_CHUNK;
  }

  /**
   * Mounts a blob from another repository of the same registry (`?mount=&from=`, with a
   * token for both repositories): true when the registry did; false when it answered
   * with an upload session instead (it could not, or would not), or refused.
   */
  async mountBlob(
    repository: string | Reference,
    descriptor: Descriptor,
    from: string,
    options: RequestOptions = {},
  ): Promise<boolean> {
    const ref = toReference(repository);
    const query = new URLSearchParams({ mount: descriptor.digest, from });
    let answer: Answer;
    try {
      answer = await this.#send(
        ref,
        {
          method: 'POST',
          path: `blobs/uploads/?${query}`,
          push: true,
          alsoScopes: [{ type: 'repository', name: from, actions: ['pull'] }],
          accepted: [202],
        },
        options,
      );
    } catch (error) {
      options.signal?.throwIfAborted();
      if (RegistryError.is(error, 'ERR_REGISTRY_RESPONSE')) return false; // refused: upload instead
      throw error;
    }
    await answer.body.dump();
    return answer.status === 201;
  }

  /**
   * Stores a manifest's exact bytes under a tag or digest (`reference.tag`, else its digest).
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`MANIFEST_INVALID`, `MANIFEST_BLOB_UNKNOWN`, …).
   */
  async putManifest(
    reference: string | Reference,
    manifest: ManifestBytes & { digest: string },
    options: RequestOptions = {},
  ): Promise<void> {
    const ref = toReference(reference);
    const answer = await this.#send(
      ref,
      {
        method: 'PUT',
        path: `manifests/${ref.tag ?? manifest.digest}`,
        headers: { 'content-type': manifest.mediaType },
        body: manifest.bytes,
        push: true,
      },
      options,
    );
    await answer.body.dump();
    // A registry with the referrers API answers a manifest with a subject with
    // `OCI-Subject`; without it, the client keeps the subject's referrers tag up to date.
    // Only a manifest with a subject is parsed (and so checked) here: the registry judged the rest.
    if (header(answer, 'oci-subject') !== undefined || !hasSubjectField(manifest.bytes)) return;
    const parsed = await parseManifest(manifest.bytes, manifest.mediaType);
    const subject = manifestSubject(parsed);
    if (subject === undefined) return;
    try {
      await this.#addToReferrersTag(ref, subject.digest, parsed, options);
    } catch (error) {
      options.signal?.throwIfAborted();
      const status = error instanceof RegistryError ? error.status : undefined;
      const registryCode = error instanceof RegistryError ? error.registryCode : undefined;
      throw new RegistryError(
        RegistryError.is(error, 'ERR_REGISTRY_UNREACHABLE')
          ? 'ERR_REGISTRY_UNREACHABLE'
          : 'ERR_REGISTRY_RESPONSE',
        `${formatReference(ref)}: manifest ${manifest.digest} stored, but the referrers tag ${referrersTag(subject.digest)} of its subject was not updated (put the manifest again to retry): ${(error as Error).message}`,
        {
          reference: formatReference(ref),
          cause: error,
          ...(status === undefined ? {} : { status }),
          ...(registryCode === undefined ? {} : { registryCode }),
        },
      );
    }
  }

  // Lists `referrer` in the referrers index under the subject's tag (distribution-spec,
  // "Pushing Manifests with Subject"), one update at a time per tag from this client.
  // Another client updating the same tag at once can still lose an entry: the tag schema
  // has no lock (the referrers API has no such race).
  async #addToReferrersTag(
    ref: Reference,
    subject: string,
    referrer: Manifest,
    options: RequestOptions,
  ): Promise<void> {
    const target = { ...repositoryOf(ref), tag: referrersTag(subject) };
    const key = formatReference(target);
    const update = async () => {
      const listed = await this.getManifest(target, options).catch((error: unknown) => {
        if (error instanceof RegistryError && error.status === 404) return undefined;
        throw error;
      });
      const current = listed === undefined ? undefined : await parseManifest(listed.bytes, listed.mediaType);
      const entry = referrerDescriptor(referrer);
      const index = current?.kind === 'index' ? current.json : undefined;
      if (index?.manifests.some((listedEntry) => isDeepStrictEqual(listedEntry, entry))) return;
      const bytes = serializeManifest(withReferrer(index, entry));
      await this.putManifest(
        target,
        { bytes, mediaType: MediaTypes.OciIndex, digest: (await manifestDigest(bytes)).toString() },
        options,
      );
    };
    const previous = this.#referrersTagUpdates.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(update);
    this.#referrersTagUpdates.set(key, next);
    try {
      await next;
    } finally {
      if (this.#referrersTagUpdates.get(key) === next) this.#referrersTagUpdates.delete(key);
    }
  }

  /**
   * Deletes a manifest. By tag, the tag is resolved to its digest first (HEAD), and the
   * manifest is deleted by digest, as distribution requires (which drops every tag on it).
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`MANIFEST_UNKNOWN`; `UNSUPPORTED` where
   *   a registry does not allow deletes).
   */
  async deleteManifest(reference: string | Reference, options: RequestOptions = {}): Promise<string> {
    const ref = toReference(reference);
    const digest = ref.digest ?? (await this.headManifest(ref, options))?.digest;
    if (digest === undefined) {
      throw new RegistryError('ERR_REGISTRY_RESPONSE', `${formatReference(ref)}: no such manifest`, {
        reference: formatReference(ref),
        status: 404,
        registryCode: 'MANIFEST_UNKNOWN',
      });
    }
    const answer = await this.#send(
      ref,
      { method: 'DELETE', path: `manifests/${digest}`, push: true },
      options,
    );
    await answer.body.dump();
    return digest;
  }

  /**
   * Deletes a blob from a repository (its bytes go at the registry's next garbage
   * collection, and only when no other repository links them).
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`BLOB_UNKNOWN`; `UNSUPPORTED` where a
   *   registry does not allow deletes).
   */
  async deleteBlob(
    repository: string | Reference,
    digest: string,
    options: RequestOptions = {},
  ): Promise<void> {
    const ref = toReference(repository);
    const answer = await this.#send(ref, { method: 'DELETE', path: `blobs/${digest}`, push: true }, options);
    await answer.body.dump();
  }

  /**
   * Checks the client's credentials for a registry as `docker login` does: `GET /v2/`,
   * its challenge answered with them (Basic, or a token from its token service with no
   * scope, for the `account`), never falling back to anonymous access.
   *
   * @example
   * ```ts
   * const client = new RegistryClient({ credentials: async () => ({ username: 'ci', password }) });
   * await client.login('registry.example:5000'); // throws if the registry refuses them
   * ```
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` with `status` 401 or 403 when the
   *   registry (or its token service) refuses the credentials, or when it asks for a login
   *   and the client has none for it; `ERR_REGISTRY_UNREACHABLE`.
   */
  async login(registry: string, options: RequestOptions = {}): Promise<LoginResult> {
    const ref: Reference = { registry, repository: '' };
    const challenges = await this.#probe(ref, options);
    if (challenges === undefined) return { scheme: 'none' };
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    const basic = challenges.find((challenge) => challenge.scheme === 'basic');
    if (bearer === undefined && basic === undefined) {
      throw new RegistryError(
        'ERR_REGISTRY_RESPONSE',
        `${registry} asks for a login by a scheme other than Basic or Bearer (${challenges.map((challenge) => challenge.scheme).join(', ') || 'none named'})`,
        { reference: formatReference(ref), status: 401 },
      );
    }
    const credentials = await this.#credentialsFor(ref);
    if (credentials === undefined || (bearer === undefined && credentials.username === undefined)) {
      throw unauthorized(ref);
    }
    const url = `${this.baseUrl(registry)}/v2/`;
    try {
      const authorization =
        bearer === undefined
          ? basicHeader(credentials)
          : (await this.#bearerToken(ref, [], bearer, options, false)).header;
      const answer = await this.#requestRetrying(url, 'GET', { authorization }, undefined, options, true);
      if (answer.status < 200 || answer.status >= 300) throw await responseError(answer, 'GET', url, ref);
      await answer.body.dump();
    } catch (error) {
      if (RegistryError.is(error, 'ERR_REGISTRY_RESPONSE')) {
        const { status, registryCode } = error as RegistryError;
        if (status === 401 || status === 403) {
          const who =
            credentials.username === undefined ? 'the identity token' : `user "${credentials.username}"`;
          throw new RegistryError(
            'ERR_REGISTRY_RESPONSE',
            `${registry} refused the credentials of ${who} (${status}${registryCode === undefined ? '' : ` ${registryCode}`})`,
            {
              reference: formatReference(ref),
              status,
              ...(registryCode === undefined ? {} : { registryCode }),
              cause: error,
            },
          );
        }
      }
      throw error;
    }
    return { scheme: bearer === undefined ? 'basic' : 'bearer' };
  }

  /**
   * A token from the registry's token service for `actions` on a repository, as
   * `crane auth token` prints it: asked for with the client's credentials for the
   * repository (anonymously when it has none), a fresh one each call, never falling back
   * to anonymous access when the credentials are refused. `undefined` when the registry
   * does not use token auth (it asks for Basic credentials, or for no login).
   *
   * @example
   * ```ts
   * const issued = await client.token('ghcr.io/team/app', ['pull', 'push']);
   * ```
   * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` when the token service refuses
   *   (401 with the credentials); `ERR_REGISTRY_UNREACHABLE`, also when the token
   *   service answers no token.
   */
  async token(
    repository: string | Reference,
    actions: readonly string[] = ['pull'],
    options: RequestOptions = {},
  ): Promise<RegistryToken | undefined> {
    const ref = repositoryOf(toReference(repository));
    const challenges = await this.#probe(ref, options);
    const bearer = challenges?.find((challenge) => challenge.scheme === 'bearer');
    if (bearer === undefined) return undefined;
    const scopes: Scope[] = [{ type: 'repository', name: ref.repository, actions }];
    const issued = await this.#bearerToken(ref, scopes, bearer, options, false);
    return issued.expiresIn === undefined
      ? { token: issued.token }
      : { token: issued.token, expiresIn: issued.expiresIn };
  }

  // `GET /v2/` with no credentials: the challenges of a 401, or `undefined` when the
  // registry lets anyone in (distribution-spec, "Determining support").
  async #probe(ref: Reference, options: RequestOptions): Promise<Challenge[] | undefined> {
    const url = `${this.baseUrl(ref.registry)}/v2/`;
    const answer = await this.#requestRetrying(url, 'GET', {}, undefined, options, true);
    if (answer.status === 401) {
      await answer.body.dump();
      return parseChallenges(headerList(answer, 'www-authenticate'));
    }
    if (answer.status < 200 || answer.status >= 300) throw await responseError(answer, 'GET', url, ref);
    await answer.body.dump();
    return undefined;
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await (await agent)?.close();
  }

  // A request to `/v2/<repository>/<path>` (or to an absolute upload URL), authorized as
  // the registry asks for the repository's `pull` (or `pull,push`) scope. Redirects are
  // followed; statuses in `accepted` (besides 2xx) are answered, not thrown. A body given
  // as a stream cannot be sent twice: such calls come after one that settled the auth.
  async #send(ref: Reference, call: Call, options: RequestOptions): Promise<Answer> {
    const scopes: Scope[] =
      call.registryWide === true
        ? [{ type: 'registry', name: 'catalog', actions: ['*'] }]
        : [
            {
              type: 'repository',
              name: ref.repository,
              actions: call.push === true ? ['pull', 'push'] : ['pull'],
            },
            ...(call.alsoScopes ?? []),
          ];
    const base =
      call.registryWide === true
        ? `${this.baseUrl(ref.registry)}/v2/`
        : `${this.baseUrl(ref.registry)}/v2/${ref.repository}/`;
    let url = /^https?:\/\//.test(call.path) ? call.path : `${base}${call.path}`;
    let authorization = await this.#cachedAuthorization(ref.registry, scopes);
    const replayable = call.body === undefined || call.body instanceof Uint8Array;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#requestRetrying(
        url,
        call.method,
        { ...call.headers, ...(authorization === undefined ? {} : { authorization }) },
        call.body,
        options,
        // Idempotent, and the body can be sent again.
        replayable && call.method !== 'POST' && call.method !== 'PATCH',
        call.reuseBuffers === true,
      );
      if ([301, 302, 303, 307, 308].includes(answer.status) && attempt < 5 && replayable) {
        await answer.body.dump();
        const location = new URL(header(answer, 'location') ?? '', url);
        // Never send the registry's credentials to another origin (object storage).
        if (location.origin !== new URL(url).origin) authorization = undefined;
        url = location.toString();
        continue;
      }
      if (answer.status === 401 && attempt === 0 && replayable) {
        await answer.body.dump();
        const challenges = parseChallenges(headerList(answer, 'www-authenticate'));
        authorization = await this.#authorize(ref, scopes, challenges, options, call.push === true);
        if (authorization !== undefined) continue;
      }
      if (answer.status >= 200 && answer.status < 300) return answer;
      if (call.accepted?.includes(answer.status)) return answer;
      throw await responseError(answer, call.method, url, ref);
    }
  }

  // #request, tried again on network errors, 429 and 5xx when `idempotent`.
  async #requestRetrying(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array | AsyncIterable<Uint8Array> | undefined,
    options: RequestOptions,
    idempotent: boolean,
    reuseBuffers = false,
  ): Promise<Answer> {
    const retries = idempotent ? this.#retries : 0;
    const host = new URL(url).host;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let retryAfter: string | undefined;
      try {
        const answer = await this.#request(url, method, headers, body, options, reuseBuffers);
        if (answer.status !== 429 && answer.status < 500) {
          this.#retriesInARow.delete(host);
          return answer;
        }
        if (attempt > retries || !this.#spendRetry(host)) return answer;
        retryAfter = header(answer, 'retry-after');
        reason = String(answer.status);
        await answer.body.dump();
      } catch (error) {
        if (
          attempt > retries ||
          !RegistryError.is(error, 'ERR_REGISTRY_UNREACHABLE') ||
          !this.#spendRetry(host)
        )
          throw error;
        reason = (error as Error).message;
      }
      const delayMs = retryDelay(retryAfter, attempt, this.#options.retryDelay ?? 250);
      this.#options.onEvent?.({ type: 'retry', method, url, attempt, delayMs, reason });
      await sleep(delayMs, options.signal);
    }
  }

  // Whether `host` may have one more retry in a row, counting it.
  #spendRetry(host: string): boolean {
    const spent = this.#retriesInARow.get(host) ?? 0;
    const budget = this.#options.retryBudget ?? (this.#options.concurrencyPerHost ?? 8) * this.#retries;
    if (spent >= budget) return false;
    this.#retriesInARow.set(host, spent + 1);
    return true;
  }

  async #request(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array | AsyncIterable<Uint8Array> | undefined,
    options: RequestOptions,
    reuseBuffers = false,
  ): Promise<Answer> {
    const parsed = new URL(url);
    const answered = (answer: Answer): Answer => {
      this.#options.onEvent?.({
        type: 'response',
        method,
        url,
        status: answer.status,
        durationMs: performance.now() - started,
      });
      return answer;
    };
    // A streamed upload is not counted: it holds its place until its whole body is sent,
    // and a blob read feeding it (a Range resume on the same host) must never wait for it.
    const streamed = body !== undefined && !(body instanceof Uint8Array);
    const release = streamed ? () => {} : await this.#hostLimit.acquire(parsed.host, options.signal);
    const started = performance.now();
    try {
      if (reuseBuffers && method === 'GET' && body === undefined) {
        const answer = await socketGet(parsed, {
          headers: { 'user-agent': this.#userAgent, ...headers },
          ...(this.#ca === undefined ? {} : { ca: this.#ca }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        if (answer !== undefined) return answered(answer); // else a chunked body: asked again below
      }
      const response = await (await this.#pools()).request({
        origin: parsed.origin,
        path: parsed.pathname + parsed.search,
        method,
        // undici sends `connection: close` with every HEAD (for servers that answer HEAD
        // with a body) unless told not to: every `hasBlob` would cost a new connection
        // (on HTTPS a new TLS handshake) and leave none open for the next request.
        ...(method === 'HEAD' ? { reset: false } : {}),
        headers: { 'user-agent': this.#userAgent, ...headers },
        // An iterable body goes to undici as it is (its types list only streams): undici
        // then asks for the next chunk only once the socket took the last one, which lets
        // a caller reuse its buffers (a Readable would read ahead).
        ...(body === undefined ? {} : { body: body as Uint8Array | Readable }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return answered({ status: response.statusCode, headers: response.headers, body: response.body });
    } catch (error) {
      options.signal?.throwIfAborted();
      throw new RegistryError(
        'ERR_REGISTRY_UNREACHABLE',
        `${method} ${url} failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      release();
    }
  }

  // A Bearer token for these scopes, else the registry's Basic header, while valid.
  async #cachedAuthorization(registry: string, scopes: readonly Scope[]): Promise<string | undefined> {
    for (const key of [tokenKey(registry, scopes), basicKey(registry)]) {
      const cached = await this.#authorizations.get(key)?.catch(() => undefined);
      if (cached !== undefined && cached.expires > Date.now()) return cached.header;
    }
    return undefined;
  }

  // Answers a challenge: Basic with the credentials, or a Bearer token from the realm for
  // the scopes, one request shared by every caller that needs the same token.
  async #authorize(
    ref: Reference,
    scopes: readonly Scope[],
    challenges: readonly Challenge[],
    options: RequestOptions,
    push: boolean,
  ): Promise<string | undefined> {
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    const basic = challenges.find((challenge) => challenge.scheme === 'basic');
    if (bearer === undefined && basic === undefined) return undefined;
    const key = bearer === undefined ? basicKey(ref.registry) : tokenKey(ref.registry, scopes);
    let pending = this.#authorizations.get(key);
    const current = await pending?.catch(() => undefined);
    if (current === undefined || current.expires <= Date.now()) {
      pending =
        bearer === undefined
          ? this.#basicAuthorization(ref)
          : this.#bearerToken(ref, scopes, bearer, options, !push);
      this.#authorizations.set(key, pending);
      pending.catch(() => this.#authorizations.delete(key));
    }
    return (await pending)?.header;
  }

  async #basicAuthorization(ref: Reference): Promise<{ header: string; expires: number }> {
    const credentials = await this.#credentialsFor(ref);
    if (credentials?.username === undefined) throw unauthorized(ref);
    return { header: basicHeader(credentials), expires: Number.POSITIVE_INFINITY };
  }

  // A token from the realm: with the credentials (or an identity token's refresh grant),
  // and, with `anonymousFallback`, anonymously when the service refuses the credentials
  // (for a pull, as docker does).
  async #bearerToken(
    ref: Reference,
    scopes: readonly Scope[],
    bearer: Challenge,
    options: RequestOptions,
    anonymousFallback: boolean,
  ): Promise<{ header: string; expires: number; token: string; expiresIn: number | undefined }> {
    const realm = bearer.params.realm;
    if (realm === undefined) {
      throw new RegistryError(
        'ERR_REGISTRY_UNREACHABLE',
        `${ref.registry} asks for a token but names no realm`,
        {
          reference: formatReference(ref),
        },
      );
    }
    const credentials = await this.#credentialsFor(ref);
    const grant = { realm, service: bearer.params.service, scopes: mergeScopes(scopes) };
    let answer = await this.#tokenRequest(grant, credentials, options);
    if ((answer.status === 401 || answer.status === 403) && credentials !== undefined && anonymousFallback) {
      await answer.body.dump();
      answer = await this.#tokenRequest(grant, undefined, options);
    }
    if (answer.status !== 200) throw await responseError(answer, 'GET', realm, ref);
    const body = await readJson<{ token?: string; access_token?: string; expires_in?: number }>(
      answer,
      MAX_JSON,
      ref,
    );
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError('ERR_REGISTRY_UNREACHABLE', `the token service ${realm} answered no token`, {
        reference: formatReference(ref),
      });
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
    // Refreshed a little before it expires (60 s by default, as the token spec says).
    const seconds = Math.max(60, expiresIn ?? 60);
    return { header: `Bearer ${token}`, expires: Date.now() + (seconds - 10) * 1000, token, expiresIn };
  }

  // GET with Basic credentials (or none); an identity token is a refresh-token grant
  // (POST, the OAuth2 form of the token protocol). Retried like any idempotent request.
  #tokenRequest(
    grant: { realm: string; service: string | undefined; scopes: readonly string[] },
    credentials: Credentials | undefined,
    options: RequestOptions,
  ): Promise<Answer> {
    const url = new URL(grant.realm);
    if (credentials?.identityToken !== undefined) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'stevedore',
        scope: grant.scopes.join(' '),
        ...(grant.service === undefined ? {} : { service: grant.service }),
      });
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      return this.#requestRetrying(
        url.toString(),
        'POST',
        headers,
        new TextEncoder().encode(form.toString()),
        options,
        true,
      );
    }
    if (grant.service !== undefined) url.searchParams.set('service', grant.service);
    // As docker sends it: the account the credentials are for (token spec, "Requesting a Token").
    if (credentials?.username !== undefined) url.searchParams.set('account', credentials.username);
    for (const scope of grant.scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> =
      credentials?.username === undefined ? {} : { authorization: basicHeader(credentials) };
    return this.#requestRetrying(url.toString(), 'GET', headers, undefined, options, true);
  }

  #credentialsFor(ref: Reference): Promise<Credentials | undefined> {
    const key = `${ref.registry}/${ref.repository}`;
    let found = this.#credentialsFound.get(key);
    if (found === undefined) {
      found = this.#credentials(ref.registry, ref.repository);
      this.#credentialsFound.set(key, found);
    }
    return found;
  }
}

function tokenKey(registry: string, scopes: readonly Scope[]): string {
  return `${registry} ${mergeScopes(scopes).join(' ')}`;
}

function basicKey(registry: string): string {
  return `${registry} basic`;
}

function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`).toString('base64')}`;
}

function unauthorized(ref: Reference): RegistryError {
  return new RegistryError(
    'ERR_REGISTRY_RESPONSE',
    `${ref.registry} asks for a login and no credentials are stored for it (log in with credentials for this registry)`,
    { reference: formatReference(ref), status: 401, registryCode: 'UNAUTHORIZED' },
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How long to wait before retry `attempt`: the registry's `Retry-After`, else backoff with jitter. */
function retryDelay(retryAfter: string | undefined, attempt: number, base: number): number {
  if (retryAfter !== undefined) {
    const seconds = /^\d+$/.test(retryAfter.trim())
      ? Number(retryAfter)
      : (Date.parse(retryAfter) - Date.now()) / 1000;
    if (Number.isFinite(seconds)) return Math.min(60_000, Math.max(0, Math.round(seconds * 1000)));
  }
  const backoff = Math.min(10_000, base * 2 ** (attempt - 1));
  return Math.round(backoff / 2 + Math.random() * (backoff / 2));
}

/** An upload URL with the digest that closes it. */
function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** Where an upload session continues: the answer's Location, else where it was. */
/**
 * Whether a request failed because the peer closed the connection while its body was
 * being sent (EPIPE, a reset, or undici's "other side closed").
 */
function closedWhileSending(error: unknown): boolean {
  if (!RegistryError.is(error, 'ERR_REGISTRY_UNREACHABLE')) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
}

function nextLocation(answer: Answer, current: string): string {
  const location = header(answer, 'location');
  return location === undefined ? current : new URL(location, current).toString();
}

/** A stream cut into blocks of `size()` bytes (the last one shorter), copied. */
async function* rechunk(
  content: Uint8Array | AsyncIterable<Uint8Array>,
  size: () => number,
): AsyncGenerator<Uint8Array> {
  let block = new Uint8Array(size());
  let filled = 0;
  for await (const chunk of content instanceof Uint8Array ? [content] : content) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(block.length - filled, chunk.byteLength - offset);
      block.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === block.length) {
        yield block;
        block = new Uint8Array(size());
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

/** The next page a `Link: <…>; rel="next"` header names, as a path under the call's base. */
function nextPage(answer: Answer, endpoint: 'tags/list' | '_catalog' | 'referrers'): string | undefined {
  const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(answer, 'link') ?? '')?.[1];
  if (next === undefined) return undefined;
  // The last occurrence in the path: a repository may be named `…/referrers/…` too.
  const at = (next.split('?')[0] ?? '').lastIndexOf(endpoint);
  return at === -1 ? undefined : next.slice(at);
}

// Whether a JSON manifest has a top-level `subject` (cheaply: no digest computed).
function hasSubjectField(bytes: Uint8Array): boolean {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof json === 'object' && json !== null && 'subject' in json;
  } catch {
    return false;
  }
}

function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headerList(answer: Answer, name: string): string {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

async function* chunksOf(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

async function readLimited(answer: Answer, limit: number, ref: Reference): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(answer.body)) {
    size += chunk.byteLength;
    if (size > limit) {
      answer.body.destroy();
      throw new RegistryError(
        'ERR_REGISTRY_RESPONSE',
        `the answer for ${formatReference(ref)} is over ${limit} bytes`,
        {
          reference: formatReference(ref),
          status: answer.status,
        },
      );
    }
    parts.push(chunk);
  }
  return concatBytes(parts);
}

async function readJson<T>(answer: Answer, limit: number, ref: Reference): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await readLimited(answer, limit, ref))) as T;
}

async function responseError(
  answer: Answer,
  method: string,
  url: string,
  ref: Reference,
): Promise<RegistryError> {
  let registryCode: string | undefined;
  let detail = '';
  let text = '';
  try {
    text = method === 'HEAD' ? '' : new TextDecoder().decode(await readLimited(answer, 64 * 1024, ref));
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    registryCode = parsed.errors?.[0]?.code;
    detail = parsed.errors?.map((error) => `${error.code}: ${error.message}`).join('; ') ?? '';
  } catch {
    // Not the spec's error body (a proxy's HTML page, say): what it said, cut short.
    detail = text.trim() === '' ? '' : excerpt(text.trim(), 200);
    await answer.body.dump().catch(() => {});
  }
  if (detail.length > 300) detail = excerpt(detail, 300);
  const hint = answer.status === 401 ? ' (log in with credentials for this registry)' : '';
  return new RegistryError(
    'ERR_REGISTRY_RESPONSE',
    `${method} ${url}: ${answer.status}${detail === '' ? '' : ` ${detail}`}${hint}`,
    {
      reference: formatReference(ref),
      status: answer.status,
      ...(registryCode === undefined ? {} : { registryCode }),
    },
  );
}
