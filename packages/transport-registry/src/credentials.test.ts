import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCredentials } from './index.ts';

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
