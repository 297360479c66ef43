// Stored registry credentials, found where docker, podman and skopeo keep them: docker's
// config.json (`credHelpers`, `credsStore`, `auths`) and containers' auth.json. Helpers
// are the `docker-credential-<name>` executables of the docker credential protocol.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StevedoreError } from '@stevedore/errors';
import { RegistryError } from './errors.ts';
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

/** The error codes of the credential store functions. */
export type CredentialsErrorCode =
  /**
   * Credentials could not be stored or removed: the credential helper the config names is
   * missing or failed, or the config file cannot be read, parsed or written.
   */
  'ERR_CREDENTIALS_STORE';

/** A failure to store or remove credentials; what was stored before is left as it was. */
export class CredentialsError extends StevedoreError<CredentialsErrorCode> {
  /** The registry whose credentials were being stored or removed. */
  readonly registry: string;
  /** The docker config file involved. */
  readonly file: string | undefined;
  /** The credential helper involved (`desktop` for `docker-credential-desktop`). */
  readonly helper: string | undefined;

  constructor(
    code: CredentialsErrorCode,
    message: string,
    details: { registry: string; file?: string; helper?: string; cause?: unknown },
  ) {
    super(code, message, 'cause' in details ? { cause: details.cause } : {});
    this.registry = details.registry;
    this.file = details.file;
    this.helper = details.helper;
  }
}

/** Options for {@link storeCredentials}: where docker's config is, as for {@link findCredentials}. */
export interface StoreCredentialsOptions extends FindCredentialsOptions {
  readonly signal?: AbortSignal;
}

/** Options for {@link removeCredentials}. */
export type RemoveCredentialsOptions = StoreCredentialsOptions;

/** Where credentials were stored, or removed from. */
export interface CredentialsLocation {
  /**
   * The docker config file: it holds the credentials (`auths`), or, with a helper, an
   * empty `auths` entry that records the login, as docker keeps one.
   */
  readonly file: string;
  /** The credential helper that holds the secret (`docker-credential-<helper>`), if one does. */
  readonly helper?: string;
}

/** What {@link removeCredentials} did. */
export interface RemovedCredentials extends CredentialsLocation {
  /** Whether there was anything to remove. */
  readonly removed: boolean;
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

/**
 * Stores credentials for a registry where docker keeps them, so that docker, podman,
 * skopeo, crane and {@link findCredentials} find them: in the credential helper the
 * config names for the registry (`credHelpers`, else `credsStore`), through
 * `docker-credential-<helper> store`, with an empty `auths` entry recording the login;
 * else base64 `user:password` (and `identitytoken`) in the `auths` entry of
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. Docker Hub's key is
 * `https://index.docker.io/v1/`, as docker writes it; other entries for the same registry
 * under another spelling (`https://host`, `http://host/v2/`) are replaced. Every other
 * field of the file is kept; it is written whole to a temporary file, mode 0600, then
 * renamed over the old one. The credentials are not checked here:
 * `RegistryClient.login` does that.
 *
 * @example
 * ```ts
 * const { file, helper } = await storeCredentials('registry.example:5000', { username: 'ci', password });
 * ```
 * @throws {RegistryError} `ERR_REFERENCE_INVALID` when `registry` is not a host[:port].
 * @throws {CredentialsError} `ERR_CREDENTIALS_STORE` when the helper is missing or fails,
 *   or the config file cannot be read, parsed or written (it is then left untouched).
 */
export async function storeCredentials(
  registry: string,
  credentials: Credentials,
  options: StoreCredentialsOptions = {},
): Promise<CredentialsLocation> {
  const hasPassword = credentials.username !== undefined && credentials.password !== undefined;
  if (!hasPassword && credentials.identityToken === undefined) {
    throw new TypeError('storeCredentials needs a username and password, or an identity token');
  }
  if (credentials.username?.includes(':') === true) {
    // Stored as base64 `user:password`, split at the first colon (RFC 7617, section 2).
    throw new RangeError(`a username cannot contain ":", got ${JSON.stringify(credentials.username)}`);
  }
  const server = configKey(registry);
  const file = await configFile(options);
  const config = await readConfigForUpdate(file, registry);
  const helper = helperFor(config, registry);
  if (helper !== undefined) {
    const secret =
      credentials.identityToken === undefined
        ? { Username: credentials.username, Secret: credentials.password }
        : { Username: '<token>', Secret: credentials.identityToken };
    const answer = await callHelper(
      helper,
      'store',
      JSON.stringify({ ServerURL: server, ...secret }),
      options.env ?? process.env,
      options.signal,
    );
    if (!answer.ok) throw helperError(helper, 'store', registry, file, answer);
  }
  const entry: Record<string, string> = {};
  if (helper === undefined) {
    if (credentials.username !== undefined) {
      entry.auth = Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64');
    }
    if (credentials.identityToken !== undefined) entry.identitytoken = credentials.identityToken;
  }
  const auths = { ...withoutRegistry(config.auths, registry), [server]: entry };
  await writeConfig(file, { ...config, auths }, registry);
  return helper === undefined ? { file } : { file, helper };
}

/**
 * Removes a registry's stored credentials from docker's config, as `docker logout` does:
 * `docker-credential-<helper> erase` when the config names a helper for it, and its
 * `auths` entries under every spelling of the registry. A helper that is not installed
 * is a warning (`onWarning`): the file's entries still go. Containers' auth.json files
 * (podman's) are left as they are.
 *
 * @example
 * ```ts
 * const { removed } = await removeCredentials('registry.example:5000');
 * ```
 * @throws {RegistryError} `ERR_REFERENCE_INVALID` when `registry` is not a host[:port].
 * @throws {CredentialsError} `ERR_CREDENTIALS_STORE` when the helper fails, or the config
 *   file cannot be read, parsed or written (it is then left untouched).
 */
export async function removeCredentials(
  registry: string,
  options: RemoveCredentialsOptions = {},
): Promise<RemovedCredentials> {
  const server = configKey(registry);
  const file = await configFile(options);
  const config = await readConfigForUpdate(file, registry);
  const helper = helperFor(config, registry);
  let removed = false;
  if (helper !== undefined) {
    const answer = await callHelper(helper, 'erase', server, options.env ?? process.env, options.signal);
    if (answer.ok) removed = true;
    else if (answer.missing) {
      options.onWarning?.(
        `docker-credential-${helper} is not installed: the credentials it may hold for ${registry} stay there`,
      );
    } else if (!/not found/i.test(answer.stdout + answer.stderr)) {
      throw helperError(helper, 'erase', registry, file, answer);
    }
  }
  const auths = withoutRegistry(config.auths, registry);
  if (Object.keys(auths).length !== Object.keys(config.auths ?? {}).length) {
    await writeConfig(file, { ...config, auths }, registry);
    removed = true;
  }
  return helper === undefined ? { removed, file } : { removed, file, helper };
}

async function readConfig(path: string, warn: (message: string) => void): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined; // no such file: nothing stored there
  }
  const parsed = parseConfig(text);
  if (parsed === undefined) warn(`${path} is not a JSON object; its credentials are ignored`);
  return parsed;
}

function parseConfig(text: string): DockerConfig | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as DockerConfig;
  } catch {}
  return undefined;
}

/** Docker's config file, its symlink followed (docker writes through one too). */
async function configFile(options: FindCredentialsOptions): Promise<string> {
  const env = options.env ?? process.env;
  const file = join(env.DOCKER_CONFIG ?? join(options.home ?? homedir(), '.docker'), 'config.json');
  return realpath(file).catch(() => file);
}

// A config about to be changed: none yet is an empty one; one that cannot be read or
// parsed is an error, since writing over it would lose what it holds.
async function readConfigForUpdate(file: string, registry: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CredentialsError('ERR_CREDENTIALS_STORE', `cannot read ${file}: ${(error as Error).message}`, {
      registry,
      file,
      cause: error,
    });
  }
  const config = parseConfig(text);
  if (config === undefined) {
    throw new CredentialsError(
      'ERR_CREDENTIALS_STORE',
      `${file} is not a JSON object; fix or move it (it was left as it is)`,
      { registry, file },
    );
  }
  if (config.auths !== undefined && (typeof config.auths !== 'object' || config.auths === null)) {
    throw new CredentialsError('ERR_CREDENTIALS_STORE', `the "auths" of ${file} is not an object`, {
      registry,
      file,
    });
  }
  return config;
}

// Written aside, mode 0600 (it holds secrets), then renamed over the old file: a reader
// sees the old file or the new one, never a part.
async function writeConfig(file: string, config: DockerConfig, registry: string): Promise<void> {
  const directory = dirname(file);
  const temporary = join(directory, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    // Tab-indented, as docker writes it.
    await writeFile(temporary, JSON.stringify(config, null, '\t'), { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600); // whatever the umask
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CredentialsError('ERR_CREDENTIALS_STORE', `cannot write ${file}: ${(error as Error).message}`, {
      registry,
      file,
      cause: error,
    });
  }
}

/** The key docker's config and helpers use for a registry (Docker Hub's legacy URL). */
function configKey(registry: string): string {
  const path = credentialsScopeOf(registry);
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/.test(path)) {
    throw new RegistryError(
      'ERR_REFERENCE_INVALID',
      `expected a registry host[:port] (credentials are stored per registry), got ${JSON.stringify(registry.slice(0, 100))}`,
      { reference: registry, part: 'registry' },
    );
  }
  return path === DOCKER_HUB ? DOCKER_HUB_SERVER : path;
}

/** The helper the config names for a registry: its `credHelpers` entry, else `credsStore`. */
function helperFor(config: DockerConfig, registry: string): string | undefined {
  const helper =
    findKey(config.credHelpers ?? {}, credentialsScopeOf(registry), undefined) ?? config.credsStore;
  return typeof helper === 'string' && helper !== '' ? helper : undefined;
}

/** `auths` without the entries for the registry itself, under any spelling of it. */
function withoutRegistry(
  auths: Readonly<Record<string, AuthEntry>> | undefined,
  registry: string,
): Record<string, AuthEntry> {
  const path = credentialsScopeOf(registry);
  return Object.fromEntries(Object.entries(auths ?? {}).filter(([key]) => credentialsScopeOf(key) !== path));
}

/** The registry a config key names: `https://index.docker.io/v1/` is `docker.io`. */
function keyRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/**
 * The registry, and namespace if any, that a docker config key (or a `docker login`
 * argument) names: `https://index.docker.io/v1/` is `docker.io`, `http://quay.io/team/`
 * is `quay.io/team`, `localhost:5000` is itself.
 */
export function credentialsScopeOf(key: string): string {
  const bare = key
    .replace(/^[a-z]+:\/\//, '')
    .replace(/\/v[12]\/?$/, '')
    .replace(/\/$/, '');
  return bare.includes('/') ? `${keyRegistry(bare)}${bare.slice(bare.indexOf('/'))}` : keyRegistry(bare);
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
    const path = credentialsScopeOf(key);
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
async function fromHelper(
  name: string,
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): Promise<Credentials | undefined> {
  const server = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry;
  const command = `docker-credential-${name}`;
  const answer = await callHelper(name, 'get', server, env, undefined);
  if (!answer.ok) {
    if (answer.missing) warn(`${command} is not installed; trying other credentials for ${registry}`);
    else if (!/not found/i.test(answer.stdout)) {
      warn(`${command} get failed for ${registry}: ${answer.message}`);
    }
    return undefined;
  }
  try {
    const found = JSON.parse(answer.stdout) as { Username?: string; Secret?: string };
    if (!found.Secret) return undefined;
    // The protocol's marker for an identity token.
    return found.Username === '<token>'
      ? { identityToken: found.Secret }
      : { username: found.Username ?? '', password: found.Secret };
  } catch {
    warn(`${command} get answered something that is not JSON for ${registry}`);
    return undefined;
  }
}

/** What a credential helper answered. */
interface HelperAnswer {
  /** It exited with 0. */
  readonly ok: boolean;
  /** It is not installed (not on the `PATH`). */
  readonly missing: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it failed, for a message. */
  readonly message: string;
}

/**
 * Runs `docker-credential-<name> <action>` with `input` on its stdin (the docker
 * credential protocol: `get` and `erase` take the server URL, `store` a JSON object
 * with `ServerURL`, `Username` and `Secret`).
 */
function callHelper(
  name: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal | undefined,
): Promise<HelperAnswer> {
  return new Promise((resolve) => {
    const child = execFile(
      `docker-credential-${name}`,
      [action],
      { timeout: 30_000, env: { ...env }, ...(signal === undefined ? {} : { signal }) },
      (error, stdout, stderr) => {
        const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
        // The helpers print their errors on stdout.
        const said = `${stdout}`.trim() || `${stderr}`.trim();
        resolve({
          ok: error === null,
          missing,
          stdout: `${stdout}`,
          stderr: `${stderr}`,
          message: error === null ? '' : said === '' ? error.message.trim() : said.slice(0, 300),
        });
      },
    );
    child.stdin?.on('error', () => {}); // a helper that exits early
    child.stdin?.end(input);
  });
}

function helperError(
  helper: string,
  action: 'store' | 'erase',
  registry: string,
  file: string,
  answer: HelperAnswer,
): CredentialsError {
  const command = `docker-credential-${helper}`;
  const why = answer.missing
    ? `${command} is not installed (${file} names it for ${registry}: install it, or remove it from credsStore/credHelpers)`
    : `${command} ${action} failed for ${registry}: ${answer.message}`;
  return new CredentialsError('ERR_CREDENTIALS_STORE', why, { registry, file, helper });
}
