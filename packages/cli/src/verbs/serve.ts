import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type AuthOptions, startServer } from '@stevedore/server';
import { usageError } from '../errors.ts';
import type { VerbContext } from '../verb.ts';

/** `stevedore serve`: until the process is interrupted (SIGINT, SIGTERM). */
export async function runServe(context: VerbContext): Promise<void> {
  const { flags } = context;
  const port = flags.port === undefined ? 5000 : Number(flags.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw usageError(`--port takes a port number, got ${JSON.stringify(flags.port)}`, 'serve');
  }
  const htpasswd = typeof flags.htpasswd === 'string' ? resolve(flags.htpasswd) : undefined;
  if (htpasswd === undefined && (flags.token === true || flags['anonymous-pull'] === true)) {
    throw usageError('--token and --anonymous-pull need --htpasswd (the users)', 'serve');
  }
  const auth: AuthOptions | undefined =
    htpasswd === undefined
      ? undefined
      : {
          htpasswd,
          ...(flags.token === true ? { token: true } : {}),
          ...(flags['anonymous-pull'] === true ? { anonymous: 'pull' } : {}),
        };
  const store = resolve(typeof flags.store === 'string' ? flags.store : 'registry');
  const server = await startServer({
    store,
    ...(typeof flags.host === 'string' ? { host: flags.host } : {}),
    port,
    ...(auth === undefined ? {} : { auth }),
    ...(flags['read-only'] === true ? { readOnly: true } : {}),
    ...(typeof flags.tls === 'string' ? { tls: await readTls(flags.tls) } : {}),
    log: (entry) =>
      context.debug(
        `${entry.method} ${entry.path} ${entry.status} ${entry.duration.toFixed(1)} ms${entry.identity === undefined ? '' : ` ${entry.identity}`}${entry.code === undefined ? '' : ` ${entry.code}`}`,
      ),
  });
  context.print(
    { url: server.url, host: server.host, store },
    [
      `serving ${server.url} from ${store}`,
      `push:  stevedore copy oci:./layout:app ${server.host}/app:latest`,
      `pull:  stevedore copy ${server.host}/app:latest oci:./pulled:app   (skopeo: docker://${server.host}/app:latest --src-tls-verify=false)`,
      'stop:  Ctrl-C',
    ].join('\n'),
  );
  await stopped(context.io.signal);
  await server.close();
}

function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolvePromise) => {
    if (signal === undefined) return; // served until the process ends
    if (signal.aborted) resolvePromise();
    signal.addEventListener('abort', () => resolvePromise(), { once: true });
  });
}

async function readTls(value: string): Promise<{ cert: string; key: string }> {
  const [cert, key, extra] = value.split(',');
  if (cert === undefined || key === undefined || extra !== undefined || cert === '' || key === '') {
    throw usageError(`--tls takes CERT,KEY (two PEM files), got ${JSON.stringify(value)}`, 'serve');
  }
  return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
}
