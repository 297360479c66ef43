import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AuthOptions } from './authenticator.ts';
import { ServerError } from './errors.ts';
import { openFilesystemStore } from './filesystem-store.ts';
import { createRegistryHandler, type RegistryHandler, type RegistryHandlerOptions } from './handler.ts';
import type { RegistryStore } from './store.ts';

/** Options for {@link startServer}. */
export interface StartServerOptions extends Omit<RegistryHandlerOptions, 'store' | 'auth'> {
  /** A directory for the filesystem store (created if missing), or a store object. */
  readonly store: string | RegistryStore;
  /** The address to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /** The port; default 0, a free one (`url` tells which). */
  readonly port?: number;
  /**
   * Who may log in and how. Required on an address other than loopback, where `'none'`
   * says so on purpose; absent on loopback means none.
   */
  readonly auth?: AuthOptions | 'none';
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: { readonly key: string | Uint8Array; readonly cert: string | Uint8Array };
}

/** A running registry. */
export interface RunningServer {
  /** Its base URL, `http://127.0.0.1:<port>`; the registry host for references is `url`'s host. */
  readonly url: string;
  /** `host:port`, as a reference's registry part (`${server.host}/team/app:v1`). */
  readonly host: string;
  readonly store: RegistryStore;
  readonly handler: RegistryHandler;
  /** Stops listening, ends open connections, and closes the store it opened. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Starts a registry on `host:port` serving the distribution-spec's `/v2/` API from
 * `store`. The only call in Stevedore that listens on a port, and only when called.
 *
 * @throws {ServerError} `ERR_SERVER_OPTIONS` for a non-loopback host without `auth`;
 *   `ERR_HTPASSWD_INVALID` for an htpasswd file it cannot read.
 * @example
 * ```ts
 * const registry = await startServer({ store: './registry', port: 5000 });
 * console.log(`pushing to ${registry.host}/team/app:v1`);
 * await registry.close();
 * ```
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.auth === undefined && !LOOPBACK.has(host)) {
    throw new ServerError(
      'ERR_SERVER_OPTIONS',
      `startServer: serving on ${host} (not loopback) needs auth; give auth: 'none' to serve without`,
      { subject: 'auth' },
    );
  }
  const opened = typeof options.store === 'string' ? await openFilesystemStore(options.store) : undefined;
  const store = opened ?? (options.store as RegistryStore);
  const { auth, tls, port: _port, host: _host, store: _store, ...rest } = options;
  const handler = await createRegistryHandler({
    ...rest,
    store,
    ...(auth === undefined || auth === 'none' ? {} : { auth }),
  });
  const server: Server =
    tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ key: pem(tls.key), cert: pem(tls.cert) }, handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://${hostPart}`,
    host: hostPart,
    store,
    handler,
    async close() {
      handler.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (opened !== undefined) await opened.close?.();
    },
  };
}

const pem = (value: string | Uint8Array): string | Buffer =>
  typeof value === 'string' ? value : Buffer.from(value);
