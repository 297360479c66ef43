// login, logout and auth token: registry credentials checked, stored and removed where
// docker keeps them, and the tokens a registry's token service gives.
import {
  credentialsScopeOf,
  DOCKER_HUB,
  parseReference,
  RegistryError,
  removeCredentials,
  storeCredentials,
} from '@stevedore/transport-registry';
import { registryReferenceOf } from '../endpoints.ts';
import { CliError, usageError } from '../errors.ts';
import { Prompter } from '../prompt.ts';
import type { VerbContext } from '../verb.ts';

/**
 * `stevedore login [REGISTRY]`: the credentials checked against the registry, then stored.
 * The password comes from `--password`, from the process's stdin with `--password-stdin`,
 * or, on a terminal, from a prompt (the command line's `CliIo` has no stdin).
 */
export async function runLogin(context: VerbContext): Promise<void> {
  const registry = registryNameOf(context.positionals[0] ?? DOCKER_HUB, 'login');
  const { flags } = context;
  // On a terminal, what the flags do not give is asked for, as docker login does.
  const prompter = process.stdin.isTTY === true ? new Prompter(process.stdin, context.io.stderr) : undefined;
  let username = flags.username;
  if ((typeof username !== 'string' || username === '') && prompter !== undefined) {
    username = await prompter.ask('Username: ');
  }
  if (typeof username !== 'string' || username === '') {
    throw usageError('login needs the user: --username (-u) USER', 'login');
  }
  if (username.includes(':')) {
    throw usageError(`a user name cannot contain ":", got ${JSON.stringify(username)}`, 'login');
  }
  if (typeof flags.password === 'string' && flags['password-stdin'] === true) {
    throw usageError('--password and --password-stdin exclude each other', 'login');
  }
  let password: string;
  if (flags['password-stdin'] === true) {
    if (process.stdin.isTTY === true) context.log('reading the password from stdin (end it with Ctrl-D)');
    password = await readPassword(process.stdin);
  } else if (typeof flags.password === 'string') {
    password = flags.password;
  } else if (prompter !== undefined) {
    password = await prompter.ask('Password: ', { hidden: true });
  } else {
    throw usageError('login needs the password: --password-stdin (preferred) or --password (-p)', 'login');
  }
  if (password === '') throw usageError('the password is empty', 'login');
  if (typeof flags.password === 'string') {
    context.log(
      'warning: --password is visible in the process list and shell history; prefer --password-stdin',
    );
  }

  const signal = context.io.signal;
  // A client of its own: these credentials, not the stored ones; --insecure for REGISTRY.
  const client = await context.newRegistryClient({
    credentials: async () => ({ username, password }),
    insecure: context.global.insecure ? [registry] : [],
  });
  let scheme: string;
  try {
    ({ scheme } = await client.login(registry, signal === undefined ? {} : { signal }));
  } catch (error) {
    if (RegistryError.is(error, 'ERR_REGISTRY_RESPONSE')) {
      const { status } = error as RegistryError;
      if (status === 401 || status === 403) {
        throw new CliError('ERR_LOGIN_REFUSED', `${error.message}; nothing was stored`, {
          hint: `check the user name and password for ${registry}`,
          cause: error,
        });
      }
    }
    throw error;
  } finally {
    await client.close();
  }
  if (scheme === 'none') {
    context.log(`note: ${registry} asks for no login, so the credentials could not be checked`);
  }
  const stored = await storeCredentials(
    registry,
    { username, password },
    {
      env: context.io.env,
      onWarning: (message) => context.log(`warning: ${message}`),
      ...(signal === undefined ? {} : { signal }),
    },
  );
  context.log(
    stored.helper === undefined
      ? `warning: the password is stored unencrypted in ${stored.file}; a credential helper (credsStore there) keeps it in a keychain`
      : `stored by docker-credential-${stored.helper}`,
  );
  context.print(
    {
      registry,
      username,
      checked: scheme !== 'none',
      file: stored.file,
      ...(stored.helper === undefined ? {} : { helper: stored.helper }),
    },
    'Login Succeeded',
  );
}

/** `stevedore logout REGISTRY`. */
export async function runLogout(context: VerbContext): Promise<void> {
  const registry = registryNameOf(context.positionals[0] ?? '', 'logout');
  const signal = context.io.signal;
  const result = await removeCredentials(registry, {
    env: context.io.env,
    onWarning: (message) => context.log(`warning: ${message}`),
    ...(signal === undefined ? {} : { signal }),
  });
  context.print(
    { registry, ...result },
    result.removed ? `Removed login credentials for ${registry}` : `Not logged in to ${registry}`,
  );
}

/** `stevedore auth token REPOSITORY`, as `crane auth token`. */
export async function runAuth(context: VerbContext): Promise<void> {
  const [subcommand = '', repository = ''] = context.positionals;
  if (subcommand !== 'token') {
    throw usageError(`auth takes "token REPOSITORY", got ${JSON.stringify(subcommand)}`, 'auth');
  }
  const reference = parseReference(registryReferenceOf(repository, 'auth'));
  const actions = context.flags.push === true ? ['pull', 'push'] : ['pull'];
  const signal = context.io.signal;
  const issued = await (await context.registry()).token(
    reference,
    actions,
    signal === undefined ? {} : { signal },
  );
  if (issued === undefined) {
    throw new CliError(
      'ERR_NOT_FOUND',
      `${reference.registry} does not use token auth (it asks for Basic credentials, or for no login): it has no token to give`,
      { hint: 'send the user and password with each request instead (curl -u USER)' },
    );
  }
  context.print(
    issued.expiresIn === undefined
      ? { token: issued.token }
      : { token: issued.token, expires_in: issued.expiresIn },
    issued.token,
  );
}

/**
 * A password read to the end of `input`, without one trailing newline (`echo` adds it),
 * as `docker login --password-stdin` reads it.
 */
export async function readPassword(input: AsyncIterable<Uint8Array | string>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  text += decoder.decode();
  return text.replace(/\r?\n$/, '');
}

/**
 * The registry a login names, as docker takes it (credentialsScopeOf: a scheme and a
 * trailing `/v1/` or `/v2/` dropped, Docker Hub's other names as `docker.io`); a usage
 * error for a namespace or nothing.
 */
export function registryNameOf(text: string, verb: string): string {
  const name = credentialsScopeOf(text.trim());
  if (name === '' || name.includes('/')) {
    throw usageError(
      `${verb} takes a registry (host[:port], docker.io for Docker Hub), got ${JSON.stringify(text)}`,
      verb,
    );
  }
  return name;
}
