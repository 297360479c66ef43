import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsScopeOf, findCredentials, removeCredentials, storeCredentials } from './index.ts';

let home: string;
let bin: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'stevedore-credentials-'));
  bin = join(home, 'bin');
  await mkdir(join(home, '.docker'), { recursive: true });
  await mkdir(bin);
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
const dockerConfig = (config: unknown) =>
  writeFile(join(home, '.docker/config.json'), JSON.stringify(config));
/** A credential helper answering for one server URL, and recording what it was asked. */
async function helper(name: string, server: string, answer: string) {
  const script = `#!/bin/sh
read -r asked
echo "$asked" > "${join(home, `${name}.asked`)}"
if [ "$asked" = "${server}" ]; then echo '${answer}'; else echo "credentials not found in native keychain"; exit 1; fi
`;
  await writeFile(join(bin, `docker-credential-${name}`), script);
  await chmod(join(bin, `docker-credential-${name}`), 0o755);
}
const options = (extra: Record<string, string> = {}) => {
  const warnings: string[] = [];
  return {
    warnings,
    options: {
      home,
      env: { PATH: `${bin}:/usr/bin:/bin`, ...extra },
      onWarning: (message: string) => warnings.push(message),
    },
  };
};

describe('credentialsScopeOf', () => {
  it('reads the registry and namespace of every spelling docker writes', () => {
    expect(credentialsScopeOf('https://index.docker.io/v1/')).toBe('docker.io');
    expect(credentialsScopeOf('registry-1.docker.io')).toBe('docker.io');
    expect(credentialsScopeOf('http://10.0.0.2:5000/v2/')).toBe('10.0.0.2:5000');
    expect(credentialsScopeOf('https://quay.io/team/')).toBe('quay.io/team');
    expect(credentialsScopeOf('localhost:5000')).toBe('localhost:5000');
  });
});

describe('findCredentials', () => {
  it('reads auths: base64 user:password, Docker Hub under its legacy key, identity tokens', async () => {
    await dockerConfig({
      auths: {
        'https://index.docker.io/v1/': { auth: basic('hub', 'secret:with:colons') },
        'registry.example:5000': { auth: basic('me', 'pw') },
        'https://token.example': { identitytoken: 'refresh' },
      },
    });
    const { options: given } = options();
    expect(await findCredentials('docker.io', 'library/alpine', given)).toEqual({
      username: 'hub',
      password: 'secret:with:colons',
    });
    expect(await findCredentials('registry.example:5000', 'app', given)).toEqual({
      username: 'me',
      password: 'pw',
    });
    expect(await findCredentials('token.example', 'app', given)).toEqual({ identityToken: 'refresh' });
    expect(await findCredentials('other.example', 'app', given)).toBeUndefined();
  });

  it('asks the credHelpers entry first, then credsStore, speaking the helper protocol', async () => {
    await helper('per-registry', 'gcr.example', '{"ServerURL":"gcr.example","Username":"u1","Secret":"s1"}');
    await helper('store', 'https://index.docker.io/v1/', '{"Username":"<token>","Secret":"tok"}');
    await dockerConfig({
      credHelpers: { 'gcr.example': 'per-registry' },
      credsStore: 'store',
      auths: { 'gcr.example': {} },
    });
    const { options: given, warnings } = options();
    expect(await findCredentials('gcr.example', 'p/app', given)).toEqual({ username: 'u1', password: 's1' });
    expect(await findCredentials('docker.io', 'library/alpine', given)).toEqual({ identityToken: 'tok' });
    // the store has nothing for this one: no warning, anonymous
    expect(await findCredentials('quay.example', 'a', given)).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('warns and goes on when a helper is not installed', async () => {
    await dockerConfig({ credsStore: 'missing', auths: { 'r.example': { auth: basic('a', 'b') } } });
    const { options: given, warnings } = options();
    expect(await findCredentials('r.example', 'x', given)).toEqual({ username: 'a', password: 'b' });
    expect(await findCredentials('s.example', 'x', given)).toBeUndefined();
    expect(warnings[0]).toContain('docker-credential-missing is not installed');
  });

  it('falls back to containers auth.json, the longest namespace winning; DOCKER_CONFIG moves docker config', async () => {
    const authFile = join(home, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({
        auths: {
          'quay.example': { auth: basic('registry-wide', 'x') },
          'quay.example/team': { auth: basic('team', 'y') },
        },
      }),
    );
    const moved = join(home, 'elsewhere');
    await mkdir(moved);
    await writeFile(
      join(moved, 'config.json'),
      JSON.stringify({ auths: { 'hub.example': { auth: basic('d', 'e') } } }),
    );
    const { options: given } = options({ REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: moved });
    expect(await findCredentials('quay.example', 'team/app', given)).toEqual({
      username: 'team',
      password: 'y',
    });
    expect(await findCredentials('quay.example', 'other/app', given)).toEqual({
      username: 'registry-wide',
      password: 'x',
    });
    expect(await findCredentials('hub.example', 'a', given)).toEqual({ username: 'd', password: 'e' });
  });

  it('warns about a config file that does not parse and ignores it', async () => {
    await writeFile(join(home, '.docker/config.json'), '{not json');
    const { options: given, warnings } = options();
    expect(await findCredentials('r.example', 'x', given)).toBeUndefined();
    expect(warnings[0]).toContain('config.json is not a JSON object');
  });
});

/**
 * A credential helper keeping what it is given in a JSON file, as the real ones keep it in
 * a keychain: `store`, `get` and `erase` of the docker credential protocol, each call
 * logged as `action input`.
 */
async function keepingHelper(name: string): Promise<{ calls: () => Promise<string[]> }> {
  const kept = join(home, `${name}.json`);
  const log = join(home, `${name}.log`);
  const script = `#!${process.execPath}
const fs = require('node:fs');
const kept = ${JSON.stringify(kept)};
const store = fs.existsSync(kept) ? JSON.parse(fs.readFileSync(kept, 'utf8')) : {};
const input = fs.readFileSync(0, 'utf8');
const action = process.argv[2];
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(action + ' ' + input) + '\\n');
const missing = () => { console.log('credentials not found in native keychain'); process.exit(1); };
if (action === 'store') {
  const given = JSON.parse(input);
  store[given.ServerURL] = given;
  fs.writeFileSync(kept, JSON.stringify(store));
} else if (action === 'get') {
  const found = store[input.trim()];
  if (found === undefined) missing();
  console.log(JSON.stringify(found));
} else if (action === 'erase') {
  if (store[input.trim()] === undefined) missing();
  delete store[input.trim()];
  fs.writeFileSync(kept, JSON.stringify(store));
}
`;
  await writeFile(join(bin, `docker-credential-${name}`), script);
  await chmod(join(bin, `docker-credential-${name}`), 0o755);
  return {
    calls: async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as string),
  };
}

const readDockerConfig = async (directory = join(home, '.docker')) =>
  JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('storeCredentials', () => {
  it('writes base64 user:password to auths, mode 0600, keeping every other field, read back by findCredentials', async () => {
    await dockerConfig({
      psFormat: 'table {{.ID}}',
      auths: {
        'other.example': { auth: basic('x', 'y') },
        // the same registry under other spellings: replaced
        'https://registry.example:5000': { auth: basic('old', 'old') },
        'http://registry.example:5000/v2/': { auth: basic('older', 'older') },
      },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    });
    const { options: given } = options();
    expect(
      await storeCredentials('registry.example:5000', { username: 'me', password: 'p:w' }, given),
    ).toEqual({ file: join(home, '.docker/config.json') });
    expect(await readDockerConfig()).toEqual({
      psFormat: 'table {{.ID}}',
      auths: {
        'other.example': { auth: basic('x', 'y') },
        'registry.example:5000': { auth: basic('me', 'p:w') },
      },
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
    });
    expect((await stat(join(home, '.docker/config.json'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(home, '.docker/config.json'), 'utf8')).toContain('\n\t"psFormat"'); // as docker indents
    expect(await readdir(join(home, '.docker'))).toEqual(['config.json']); // no temporary file left
    expect(await findCredentials('registry.example:5000', 'app', given)).toEqual({
      username: 'me',
      password: 'p:w',
    });
  });

  it("keys Docker Hub as docker does, makes DOCKER_CONFIG's directory, and stores identity tokens", async () => {
    const moved = join(home, 'new', 'docker');
    const { options: given } = options({ DOCKER_CONFIG: moved });
    await storeCredentials('docker.io', { username: 'hub', password: 'one' }, given);
    await storeCredentials('index.docker.io', { username: 'hub', password: 'two' }, given);
    await storeCredentials('token.example', { identityToken: 'refresh' }, given);
    expect(await readDockerConfig(moved)).toEqual({
      auths: {
        'https://index.docker.io/v1/': { auth: basic('hub', 'two') },
        'token.example': { identitytoken: 'refresh' },
      },
    });
    expect(await findCredentials('docker.io', 'library/alpine', given)).toEqual({
      username: 'hub',
      password: 'two',
    });
    expect(await findCredentials('token.example', 'a', given)).toEqual({ identityToken: 'refresh' });
  });

  it('hands the secret to the credHelpers or credsStore helper, keeping an empty auths entry as docker does', async () => {
    const store = await keepingHelper('store');
    const special = await keepingHelper('special');
    await dockerConfig({
      credsStore: 'store',
      credHelpers: { 'gcr.example': 'special' },
      auths: { 'https://registry.example': { auth: basic('plain', 'text') } },
    });
    const { options: given } = options();
    expect(await storeCredentials('registry.example', { username: 'me', password: 'pw' }, given)).toEqual({
      file: join(home, '.docker/config.json'),
      helper: 'store',
    });
    await storeCredentials('gcr.example', { username: 'g', password: 'h' }, given);
    await storeCredentials('docker.io', { identityToken: 'refresh' }, given);
    expect(await store.calls()).toEqual([
      'store {"ServerURL":"registry.example","Username":"me","Secret":"pw"}',
      'store {"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"refresh"}',
    ]);
    expect(await special.calls()).toEqual(['store {"ServerURL":"gcr.example","Username":"g","Secret":"h"}']);
    // the plaintext entry is gone: the secret lives in the helper only
    expect((await readDockerConfig()).auths).toEqual({
      'registry.example': {},
      'gcr.example': {},
      'https://index.docker.io/v1/': {},
    });
    expect(await findCredentials('registry.example', 'app', given)).toEqual({
      username: 'me',
      password: 'pw',
    });
    expect(await findCredentials('docker.io', 'library/alpine', given)).toEqual({ identityToken: 'refresh' });
  });

  it('leaves the config untouched when the helper is missing or fails, or the file does not parse', async () => {
    const { options: given } = options();
    const config = { credsStore: 'missing', auths: { 'a.example': { auth: basic('a', 'b') } } };
    await dockerConfig(config);
    await expect(
      storeCredentials('r.example', { username: 'u', password: 'p' }, given),
    ).rejects.toMatchObject({
      code: 'ERR_CREDENTIALS_STORE',
      helper: 'missing',
      registry: 'r.example',
      message: expect.stringContaining('docker-credential-missing is not installed'),
    });
    expect(await readDockerConfig()).toEqual(config);

    await writeFile(
      join(bin, 'docker-credential-locked'),
      '#!/bin/sh\necho "the keychain is locked"\nexit 1\n',
    );
    await chmod(join(bin, 'docker-credential-locked'), 0o755);
    await dockerConfig({ ...config, credsStore: 'locked' });
    await expect(
      storeCredentials('r.example', { username: 'u', password: 'p' }, given),
    ).rejects.toMatchObject({
      code: 'ERR_CREDENTIALS_STORE',
      message: 'docker-credential-locked store failed for r.example: the keychain is locked',
    });
    expect(await readDockerConfig()).toEqual({ ...config, credsStore: 'locked' });

    await writeFile(join(home, '.docker/config.json'), '{not json');
    await expect(
      storeCredentials('r.example', { username: 'u', password: 'p' }, given),
    ).rejects.toMatchObject({
      code: 'ERR_CREDENTIALS_STORE',
      file: join(home, '.docker/config.json'),
      message: expect.stringContaining('is not a JSON object'),
    });
    expect(await readFile(join(home, '.docker/config.json'), 'utf8')).toBe('{not json');
  });

  it('writes through a symlinked config.json, leaving the link in place', async () => {
    const dotfiles = join(home, 'dotfiles');
    await mkdir(dotfiles);
    await writeFile(join(dotfiles, 'docker.json'), '{"auths":{}}');
    await symlink(join(dotfiles, 'docker.json'), join(home, '.docker/config.json'));
    const { options: given } = options();
    await storeCredentials('r.example', { username: 'u', password: 'p' }, given);
    expect((await lstat(join(home, '.docker/config.json'))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(join(dotfiles, 'docker.json'), 'utf8'))).toEqual({
      auths: { 'r.example': { auth: basic('u', 'p') } },
    });
  });

  it('refuses what cannot be stored: a repository path, a username with a colon, nothing to store', async () => {
    const { options: given } = options();
    await expect(
      storeCredentials('quay.io/team', { username: 'u', password: 'p' }, given),
    ).rejects.toMatchObject({
      code: 'ERR_REFERENCE_INVALID',
      part: 'registry',
    });
    await expect(storeCredentials('r.example', { username: 'a:b', password: 'p' }, given)).rejects.toThrow(
      RangeError,
    );
    await expect(storeCredentials('r.example', { username: 'u' }, given)).rejects.toThrow(TypeError);
    expect(await readdir(join(home, '.docker'))).toEqual([]); // nothing written
  });
});

describe('removeCredentials', () => {
  it('removes the auths entries under every spelling of the registry, and says when there were none', async () => {
    await dockerConfig({
      auths: {
        'r.example': { auth: basic('a', 'b') },
        'https://r.example/v2/': { auth: basic('c', 'd') },
        'https://index.docker.io/v1/': { auth: basic('hub', 'e') },
      },
      credHelpers: {},
    });
    const { options: given } = options();
    expect(await removeCredentials('r.example', given)).toEqual({
      removed: true,
      file: join(home, '.docker/config.json'),
    });
    expect(await readDockerConfig()).toEqual({
      auths: { 'https://index.docker.io/v1/': { auth: basic('hub', 'e') } },
      credHelpers: {},
    });
    expect((await stat(join(home, '.docker/config.json'))).mode & 0o777).toBe(0o600);
    expect(await removeCredentials('r.example', given)).toMatchObject({ removed: false });
    expect(await removeCredentials('docker.io', given)).toMatchObject({ removed: true });
    expect(await findCredentials('docker.io', 'library/alpine', given)).toBeUndefined();
  });

  it('erases from the helper, warns about a missing one, and fails on a helper that fails', async () => {
    const store = await keepingHelper('store');
    await dockerConfig({ credsStore: 'store' });
    const { options: given, warnings } = options();
    await storeCredentials('r.example', { username: 'a', password: 'b' }, given);
    expect(await removeCredentials('r.example', given)).toEqual({
      removed: true,
      file: join(home, '.docker/config.json'),
      helper: 'store',
    });
    expect((await store.calls()).at(-1)).toBe('erase r.example');
    expect((await readDockerConfig()).auths).toEqual({});
    expect(await findCredentials('r.example', 'app', given)).toBeUndefined();
    expect(await removeCredentials('r.example', given)).toMatchObject({ removed: false }); // "not found"

    await dockerConfig({ credsStore: 'gone', auths: { 'r.example': {} } });
    expect(await removeCredentials('r.example', given)).toMatchObject({ removed: true, helper: 'gone' });
    expect(warnings).toEqual([
      'docker-credential-gone is not installed: the credentials it may hold for r.example stay there',
    ]);

    await writeFile(
      join(bin, 'docker-credential-locked'),
      '#!/bin/sh\necho "the keychain is locked"\nexit 1\n',
    );
    await chmod(join(bin, 'docker-credential-locked'), 0o755);
    await dockerConfig({ credsStore: 'locked', auths: { 'r.example': {} } });
    await expect(removeCredentials('r.example', given)).rejects.toMatchObject({
      code: 'ERR_CREDENTIALS_STORE',
      message: 'docker-credential-locked erase failed for r.example: the keychain is locked',
    });
    expect((await readDockerConfig()).auths).toEqual({ 'r.example': {} });
  });

  it('changes nothing where nothing is stored', async () => {
    const { options: given } = options();
    expect(await removeCredentials('r.example', given)).toMatchObject({ removed: false });
    expect(await readdir(join(home, '.docker'))).toEqual([]);
  });
});
