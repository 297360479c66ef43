import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isRepositoryName } from '@stevedore/transport-registry';
import { type Access, type AuthOptions, type Authorize, createAuthenticator } from './authenticator.ts';
import { deleteBlob, getBlob } from './blobs.ts';
import { ServerError } from './errors.ts';
import { DEFAULT_LIMITS, type Exchange, type RegistryLimits, type Reply, readBody } from './exchange.ts';
import { listCatalog, listReferrers, listTags } from './listings.ts';
import { deleteManifest, getManifest, putManifest } from './manifests.ts';
import { DistributionError } from './registry-error.ts';
import { parseRoute, type Route } from './routes.ts';
import { BufferPool, isFileBody, sendFile } from './send-file.ts';
import type { RegistryStore } from './store.ts';
import { Uploads } from './uploads.ts';

/** Options for {@link createRegistryHandler}. */
export interface RegistryHandlerOptions {
  /** Where the registry keeps everything ({@link openFilesystemStore}, {@link createMemoryStore}, or your own). */
  readonly store: RegistryStore;
  /** Who may log in and how (Basic from htpasswd, or Docker tokens); none when absent. */
  readonly auth?: AuthOptions;
  /** Custom policy, asked for every access a request needs. */
  readonly authorize?: Authorize;
  /** Refuse every push and delete (405 `UNSUPPORTED`). */
  readonly readOnly?: boolean;
  readonly limits?: Partial<RegistryLimits>;
  /**
   * Whether a mount without `from` may find the blob in any repository (the spec's
   * automatic content discovery); default true without `auth`, false with it, where it
   * would show a blob to someone who may not pull any repository holding it.
   */
  readonly discoverContent?: boolean;
  /** Called once per request when its answer is done. */
  readonly log?: (entry: RequestLogEntry) => void;
}

/** What {@link RegistryHandlerOptions.log} receives. */
export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Milliseconds from the request to the end of the answer. */
  readonly duration: number;
  readonly identity?: string;
  /** The distribution-spec error code answered, if any. */
  readonly code?: string;
  /** An unexpected failure (answered 500). */
  readonly error?: unknown;
}

/** A `node:http` request listener serving `/v2/` (and `/token` when it issues tokens). */
export interface RegistryHandler {
  (request: IncomingMessage, response: ServerResponse): void;
  /** Whether a request path is the registry's (so a host server can route the rest elsewhere). */
  handles(path: string): boolean;
  /** Removes upload sessions idle past the limit now; resolves to how many. */
  expireUploads(): Promise<number>;
  /** Stops the handler's timers (the store stays open). */
  close(): void;
}

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };
const READS = new Set(['GET', 'HEAD']);

/**
 * The registry as a request listener, to mount in your own `node:http` or `node:https`
 * server; {@link startServer} wraps it in one.
 *
 * @throws {ServerError} `ERR_HTPASSWD_INVALID` when the htpasswd file cannot be read.
 * @example
 * ```ts
 * const registry = await createRegistryHandler({ store: await openFilesystemStore('/srv/registry') });
 * createServer((request, response) =>
 *   registry.handles(request.url ?? '') ? registry(request, response) : site(request, response),
 * ).listen(5000);
 * ```
 */
export async function createRegistryHandler(options: RegistryHandlerOptions): Promise<RegistryHandler> {
  if (typeof options?.store?.blobInfo !== 'function') {
    throw new TypeError('createRegistryHandler: options.store must be a RegistryStore');
  }
  const { store } = options;
  const limits: RegistryLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const authenticator = await createAuthenticator(options.auth, options.authorize);
  const pool = new BufferPool();
  const uploads = new Uploads(
    store,
    limits.uploadIdleTimeout,
    options.discoverContent ?? options.auth === undefined,
  );
  const pathOf = (url: string) => {
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  };
  const handles = (url: string) => {
    const path = pathOf(url);
    return path === '/v2' || path.startsWith('/v2/') || (authenticator.issuesTokens && path === '/token');
  };

  const serve = async (request: IncomingMessage, signal: AbortSignal) => {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://registry');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new DistributionError(404, 'UNSUPPORTED', 'the path is not valid percent-encoding');
    }
    const baseUrl = `${(request.socket as TLSSocket).encrypted ? 'https' : 'http'}://${request.headers.host ?? 'localhost'}`;
    if (authenticator.issuesTokens && path === '/token') {
      const body =
        method === 'POST' ? await readBody(exchangeOf(request, method, url, signal), 64 * 1024) : undefined;
      const answer = await authenticator.token({
        method,
        query: url.searchParams,
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body,
      });
      return { reply: { status: answer.status, headers: answer.headers, body: answer.body } };
    }
    const route = parseRoute(path);
    if (route === undefined)
      throw new DistributionError(404, 'UNSUPPORTED', `${method} ${path} is not a registry endpoint`);
    if ('name' in route && !isRepositoryName(route.name)) {
      throw new DistributionError(
        400,
        'NAME_INVALID',
        `${JSON.stringify(route.name)} is not a repository name`,
        {
          name: route.name,
        },
      );
    }
    const allowed = METHODS[route.kind];
    if (!allowed.includes(method)) {
      throw new DistributionError(405, 'UNSUPPORTED', `${method} is not allowed here`, undefined, {
        allow: allowed.join(', '),
      });
    }
    if (options.readOnly === true && !READS.has(method)) {
      throw new DistributionError(405, 'UNSUPPORTED', 'the registry is read-only');
    }
    const decision = await authenticator.check(
      request.headers.authorization,
      accessOf(route, method, url),
      baseUrl,
    );
    if (!decision.ok) {
      throw new DistributionError(
        decision.status,
        decision.code,
        decision.message,
        decision.detail,
        decision.challenge === undefined ? {} : { 'www-authenticate': decision.challenge },
      );
    }
    const exchange = exchangeOf(request, method, url, signal);
    return { reply: await dispatch(exchange, route), identity: decision.identity };
  };

  const exchangeOf = (request: IncomingMessage, method: string, url: URL, signal: AbortSignal): Exchange => ({
    method,
    request,
    query: url.searchParams,
    store,
    limits,
    signal,
  });

  const dispatch = async (exchange: Exchange, route: Route): Promise<Reply> => {
    const { method } = exchange;
    switch (route.kind) {
      case 'base':
        return {
          status: 200,
          headers: { 'content-type': 'application/json', 'content-length': 2 },
          body: '{}',
        };
      case 'catalog':
        return listCatalog(exchange);
      case 'tags':
        return listTags(exchange, route.name);
      case 'referrers':
        return listReferrers(exchange, route.name, route.digest);
      case 'manifest':
        if (method === 'PUT') return putManifest(exchange, route.name, route.reference);
        if (method === 'DELETE') return deleteManifest(exchange, route.name, route.reference);
        return getManifest(exchange, route.name, route.reference);
      case 'blob':
        if (method === 'DELETE') return deleteBlob(exchange, route.name, route.digest);
        return getBlob(exchange, route.name, route.digest);
      case 'uploads':
        return uploads.start(exchange, route.name);
      case 'upload':
        if (method === 'PATCH') return uploads.patch(exchange, route.name, route.id);
        if (method === 'PUT') return uploads.finish(exchange, route.name, route.id);
        if (method === 'DELETE') return uploads.cancel(route.name, route.id);
        return uploads.status(route.name, route.id);
    }
  };

  const handler = ((request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    const controller = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) controller.abort(new Error('the client went away'));
    });
    let identity: string | undefined;
    let code: string | undefined;
    let failure: unknown;
    serve(request, controller.signal)
      .then(async (served) => {
        identity = served.identity;
        await writeReply(request, response, served.reply, pool);
      })
      .catch(async (error: unknown) => {
        const answer = toDistributionError(error);
        code = answer.code;
        if (answer.status >= 500) failure = error;
        if (response.headersSent || response.destroyed) {
          response.destroy();
          return;
        }
        await writeReply(
          request,
          response,
          {
            status: answer.status,
            headers: { ...answer.headers, 'content-type': 'application/json' },
            body: answer.body(),
          },
          pool,
        ).catch(() => response.destroy());
      })
      .finally(() => {
        options.log?.({
          method: request.method ?? 'GET',
          path: pathOf(request.url ?? '/'),
          status: response.statusCode,
          duration: performance.now() - started,
          ...(identity === undefined ? {} : { identity }),
          ...(code === undefined ? {} : { code }),
          ...(failure === undefined ? {} : { error: failure }),
        });
      });
  }) as RegistryHandler;
  handler.handles = handles;
  handler.expireUploads = () => uploads.expire();
  handler.close = () => uploads.close();
  return handler;
}

const METHODS: Readonly<Record<Route['kind'], readonly string[]>> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET', 'HEAD'],
  tags: ['GET', 'HEAD'],
  referrers: ['GET', 'HEAD'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  uploads: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
};

// The access a request needs, in the Docker token spec's terms.
function accessOf(route: Route, method: string, url: URL): Access[] {
  if (route.kind === 'base') return [];
  if (route.kind === 'catalog') return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
  const action =
    READS.has(method) && route.kind !== 'upload'
      ? 'pull'
      : method === 'DELETE' && route.kind !== 'upload'
        ? 'delete'
        : 'push';
  const access: Access[] = [{ type: 'repository', name: route.name, actions: [action] }];
  const from = url.searchParams.get('from');
  if (route.kind === 'uploads' && from !== null && url.searchParams.has('mount') && isRepositoryName(from)) {
    access.push({ type: 'repository', name: from, actions: ['pull'] });
  }
  return access;
}

function toDistributionError(error: unknown): DistributionError {
  if (error instanceof DistributionError) return error;
  if (ServerError.is(error, 'ERR_STORE_NOT_FOUND')) {
    return new DistributionError(404, 'BLOB_UNKNOWN', (error as Error).message);
  }
  return new DistributionError(500, 'UNKNOWN', 'the registry failed to answer; see its log');
}

// Writes an answer: the API version header always, Content-Length when the size is
// known, no body for HEAD, and a streamed body with backpressure. A request body left
// unread (an error answered early) closes the connection rather than reading it all.
async function writeReply(
  request: IncomingMessage,
  response: ServerResponse,
  reply: Reply,
  pool: BufferPool,
): Promise<void> {
  const { body } = reply;
  let file = isFileBody(body) ? body : undefined; // closed here unless sendFile took it
  try {
    const headers: Record<string, string | number> = { ...API_VERSION, ...reply.headers };
    const whole =
      typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
    if (whole !== undefined) headers['content-length'] ??= whole.byteLength;
    else if (file !== undefined) headers['content-length'] ??= file.length;
    else if (body === undefined && reply.status !== 204 && reply.status !== 304)
      headers['content-length'] ??= 0;
    if (hasUnreadBody(request)) headers.connection = 'close';
    response.writeHead(reply.status, headers);
    if (request.method === 'HEAD' || body === undefined) {
      response.end();
      return;
    }
    if (whole !== undefined) {
      response.end(whole);
      return;
    }
    if (file !== undefined) {
      const sending = file;
      file = undefined;
      return await sendFile(response, sending, pool);
    }
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      if (response.destroyed) return;
      if (!response.write(chunk)) await drained(response);
    }
    response.end();
  } finally {
    await file?.file.close().catch(() => undefined);
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

function hasUnreadBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  const hasBody =
    (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  return hasBody && !request.complete;
}
