// A real registry for interop tests: Debian's `docker-registry` (distribution 2.8) on a
// free loopback port, storing in a temporary directory, stopped by the test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

/** A running registry: `host` is `127.0.0.1:<port>`. */
export interface RunningRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

/** A loopback TCP port free at the moment of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Basic auth: these users (passwords bcrypt-hashed into an htpasswd file). */
  readonly users?: Readonly<Record<string, string>>;
  /** Token auth through this service (see token-issuer.ts). */
  readonly token?: {
    readonly realm: string;
    readonly service: string;
    readonly issuer: string;
    readonly certificate: string;
  };
}

/** Starts `docker-registry` (without auth unless asked); resolves once `/v2/` answers. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'stevedore-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(options.users === undefined
        ? []
        : ['auth:', '  htpasswd:', '    realm: test-realm', `    path: ${join(dir, 'htpasswd')}`]),
      ...(options.token === undefined
        ? []
        : [
            'auth:',
            '  token:',
            `    realm: ${options.token.realm}`,
            `    service: ${options.token.service}`,
            `    issuer: ${options.token.issuer}`,
            `    rootcertbundle: ${options.token.certificate}`,
          ]),
      '',
    ].join('\n'),
  );
  if (options.users !== undefined) {
    const lines = Object.entries(options.users).map(
      ([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`,
    );
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
  }
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) break;
    // 401 is an answer too: the registry is up and asks for credentials.
    const ready = await fetch(`http://${host}/v2/`).then(
      (response) => response.ok || response.status === 401,
      () => false,
    );
    if (ready) return { host, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start on ${host}`);
}
