// Stored registry credentials, found where docker, podman and skopeo keep them: docker's
// config.json (`credHelpers`, `credsStore`, `auths`) and containers' auth.json. Helpers
// are the `docker-credential-<name>` executables of the docker credential protocol.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB } from './reference.ts';

/** What a registry accepts to log in: a user and password, or an identity (refresh) token. */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token for the token service (docker's `identitytoken`). */
  readonly identityToken?: string;
}

/** Where credentials are looked for; every field defaults to the process's own. */
export interface FindCredentialsOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly home?: string;
  /** Told about what was skipped: a missing helper, a config file that does not parse. */
  readonly onWarning?: (message: string) => void;
}

interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

interface DockerConfig {
  readonly auths?: Readonly<Record<string, AuthEntry>>;
  readonly credsStore?: string;
  readonly credHelpers?: Readonly<Record<string, string>>;
}

// Docker Hub's legacy key in config files and helpers.
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/**
 * The stored credentials for a repository, or `undefined` for anonymous access. Looked
 * for, in order, in docker's config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`: the registry's `credHelpers` entry, then `credsStore`, then
 * `auths`) and in containers' auth.json (`$REGISTRY_AUTH_FILE`,
 * `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`), whose
 * entries may name a namespace (`quay.io/team`): the longest match wins. A helper that is
 * not installed, or a file that does not parse, is a warning: anonymous access may still work.
 */
export async function findCredentials(
  registry: string,
  repository: string | undefined,
  options: FindCredentialsOptions = {},
): Promise<Credentials | undefined> {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const warn = options.onWarning ?? (() => {});
  const dockerDir = env.DOCKER_CONFIG ?? join(home, '.docker');
  const docker = await readConfig(join(dockerDir, 'config.json'), warn);
  if (docker !== undefined) {
    const helper = findKey(docker.credHelpers ?? {}, registry, undefined);
    const store = helper ?? docker.credsStore;
    if (store !== undefined) {
      const found = await fromHelper(store, registry, env, warn);
      if (found !== undefined) return found;
    }
    const entry = findKey(docker.auths ?? {}, registry, undefined);
    if (entry !== undefined) return fromEntry(entry, warn);
  }
  const authFiles = [
    env.REGISTRY_AUTH_FILE,
    env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, 'containers/auth.json'),
    join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers/auth.json'),
  ];
  for (const file of authFiles) {
    if (file === undefined) continue;
    const config = await readConfig(file, warn);
    const entry = config && findKey(config.auths ?? {}, registry, repository);
    if (entry !== undefined) return fromEntry(entry, warn);
  }
  return undefined;
}

async function readConfig(path: string, warn: (message: string) => void): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined; // no such file: nothing stored there
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') return parsed as DockerConfig;
  } catch {}
  warn(`${path} is not a JSON object; its credentials are ignored`);
  return undefined;
}

/** The registry a config key names: `https://index.docker.io/v1/` is `docker.io`. */
function keyRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/** The entry for a registry (or, with `repository`, the longest namespace matching it). */
function findKey<T>(
  entries: Readonly<Record<string, T>>,
  registry: string,
  repository: string | undefined,
): T | undefined {
  const full = repository === undefined ? registry : `${registry}/${repository}`;
  let best: { length: number; value: T } | undefined;
  for (const [key, value] of Object.entries(entries)) {
    const bare = key
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\/v[12]\/?$/, '')
      .replace(/\/$/, '');
    const path = bare.includes('/')
      ? `${keyRegistry(bare)}${bare.slice(bare.indexOf('/'))}`
      : keyRegistry(bare);
    const matches = path === full || full.startsWith(`${path}/`);
    if (matches && (best === undefined || path.length > best.length)) best = { length: path.length, value };
  }
  return best?.value;
}

function fromEntry(entry: AuthEntry, warn: (message: string) => void): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    warn('an auths entry has an "auth" that is not base64 of user:password; it is ignored');
    return undefined;
  }
  if (entry.username !== undefined) return { username: entry.username, password: entry.password ?? '' };
  return undefined; // an empty entry: credentials kept by a store
}

/** Asks `docker-credential-<name> get` for a registry's credentials. */
function fromHelper(
  name: string,
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): Promise<Credentials | undefined> {
  const server = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry;
  const command = `docker-credential-${name}`;
  return new Promise((resolve) => {
    const child = execFile(command, ['get'], { timeout: 30_000, env: { ...env } }, (error, stdout) => {
      if (error !== null) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          warn(`${command} is not installed; trying other credentials for ${registry}`);
        } else if (!/not found/i.test(stdout)) {
          warn(`${command} get failed for ${registry}: ${error.message.trim()}`);
        }
        resolve(undefined);
        return;
      }
      try {
        const answer = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!answer.Secret) return resolve(undefined);
        // The protocol's marker for an identity token.
        resolve(
          answer.Username === '<token>'
            ? { identityToken: answer.Secret }
            : { username: answer.Username ?? '', password: answer.Secret },
        );
      } catch {
        warn(`${command} get answered something that is not JSON for ${registry}`);
        resolve(undefined);
      }
    });
    child.stdin?.on('error', () => {}); // a helper that exits early
    child.stdin?.end(server);
  });
}
