import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCliCapturing } from '../run-cli.ts';
import { readPassword, registryNameOf } from './login.ts';

// bcrypt (cost 4) of "wonderland": bcryptjs, which the server's own tests hash with, is
// not a dependency of this package.
const ALICE = '$2b$04$zAEfIeBFWgM0prqWYNuDQuF/mtKQedeiyYGs//2O9Gc/8WNphh1Zu';

let home: string;
let dockerConfig: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'stevedore-login-'));
  dockerConfig = join(home, 'docker');
});
const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
  await rm(home, { recursive: true, force: true });
});

/** A run of the command line in this process, its output captured, docker's config in `dockerConfig`. */
const stevedore = (...argv: string[]) =>
  runCliCapturing(argv, {
    env: { DOCKER_CONFIG: dockerConfig, PATH: `${join(home, 'bin')}:${process.env.PATH ?? ''}` },
  });

/** Our registry with one user, alice (password wonderland): Basic auth, or Docker token auth. */
async function registry(auth: 'basic' | 'token'): Promise<string> {
  const server = await startServer({
    store: createMemoryStore(),
    auth: { htpasswd: { alice: ALICE }, ...(auth === 'token' ? { token: true } : {}) },
  });
  running.push(server);
  return server.host;
}

const configFile = () => join(dockerConfig, 'config.json');
const readConfig = async () => JSON.parse(await readFile(configFile(), 'utf8')) as Record<string, unknown>;
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

/** The claims of a JSON web token. */
function claimsOf(token: string): { sub: string; access: Array<{ name: string; actions: string[] }> } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
}

describe('login', () => {
  it('checks the credentials with Basic auth, stores them in config.json keeping the rest, and other verbs use them', async () => {
    const host = await registry('basic');
    await mkdir(dockerConfig);
    await writeFile(
      configFile(),
      JSON.stringify({ psFormat: 'table {{.ID}}', auths: { 'other.example': { auth: basic('x', 'y') } } }),
    );
    const anonymous = await stevedore('catalog', host);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain(`hint: log in first: stevedore login ${host}`);

    const login = await stevedore('login', host, '-u', 'alice', '-p', 'wonderland');
    expect(login).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    expect(login.stderr).toContain('warning: --password is visible in the process list');
    expect(login.stderr).toContain(`warning: the password is stored unencrypted in ${configFile()}`);
    expect(await readConfig()).toEqual({
      psFormat: 'table {{.ID}}',
      auths: { 'other.example': { auth: basic('x', 'y') }, [host]: { auth: basic('alice', 'wonderland') } },
    });
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
    expect(await stevedore('catalog', host)).toMatchObject({ code: 0, stderr: '' });
  });

  it('refuses a wrong password with a clear 401 and stores nothing', async () => {
    for (const auth of ['basic', 'token'] as const) {
      const host = await registry(auth);
      const refused = await stevedore('login', '--quiet', host, '-u', 'alice', '-p', 'guess');
      expect(refused.code).toBe(1);
      expect(refused.stderr.split('\n').slice(0, 2)).toEqual([
        `stevedore: ERR_LOGIN_REFUSED: ${host} refused the credentials of user "alice" (401 UNAUTHORIZED); nothing was stored`,
        `hint: check the user name and password for ${host}`,
      ]);
      expect(refused.stdout).toBe('');
      await expect(stat(configFile())).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('logs in to a registry with Docker token auth, and auth token prints tokens for pull or push', async () => {
    const host = await registry('token');
    const login = await stevedore('login', '--json', host, '--username', 'alice', '--password', 'wonderland');
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toEqual({
      registry: host,
      username: 'alice',
      checked: true,
      file: configFile(),
    });

    const pull = await stevedore('auth', 'token', `${host}/team/app`);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(claimsOf(pull.stdout.trim())).toMatchObject({
      sub: 'alice',
      access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }],
    });
    const push = await stevedore('auth', 'token', '--push', '--json', `docker://${host}/team/app:v1`);
    const json = JSON.parse(push.stdout) as { token: string; expires_in: number };
    expect(Object.keys(json)).toEqual(['token', 'expires_in']);
    expect(json.expires_in).toBeGreaterThan(0);
    expect(claimsOf(json.token).access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);

    // Anonymous: a token all the same, that grants nothing.
    expect((await stevedore('logout', host)).code).toBe(0);
    const anonymous = await stevedore('auth', 'token', `${host}/team/app`);
    expect(claimsOf(anonymous.stdout.trim())).toMatchObject({ sub: '', access: [{ actions: [] }] });
  });

  it('says a registry without token auth has no token to give', async () => {
    const host = await registry('basic');
    const answer = await stevedore('auth', 'token', `${host}/team/app`);
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain(`stevedore: ERR_NOT_FOUND: ${host} does not use token auth`);
    expect(answer.stdout).toBe('');
  });

  it('hands the password to the credential helper config.json names, and logout erases it there', async () => {
    const host = await registry('basic');
    const bin = join(home, 'bin');
    await mkdir(bin);
    await mkdir(dockerConfig);
    const log = join(home, 'helper.log');
    // Keeps one secret in a file; logs each call.
    await writeFile(
      join(bin, 'docker-credential-test'),
      `#!/bin/sh
input=$(cat)
echo "$1 $input" >> "${log}"
case $1 in
  store) echo "$input" > "${home}/secret" ;;
  get) if [ -f "${home}/secret" ]; then cat "${home}/secret"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) rm "${home}/secret" ;;
esac
`,
    );
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    await writeFile(configFile(), JSON.stringify({ credHelpers: { [host]: 'test' } }));

    const login = await stevedore('login', host, '-u', 'alice', '-p', 'wonderland');
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('stored by docker-credential-test');
    expect(await readConfig()).toEqual({ credHelpers: { [host]: 'test' }, auths: { [host]: {} } });
    const logout = await stevedore('logout', host);
    expect(logout).toMatchObject({ code: 0, stdout: `Removed login credentials for ${host}\n` });
    expect((await readFile(log, 'utf8')).split('\n')).toEqual([
      `store {"ServerURL":"${host}","Username":"alice","Secret":"wonderland"}`,
      `erase ${host}`,
      '',
    ]);
    expect(await readConfig()).toEqual({ credHelpers: { [host]: 'test' }, auths: {} });
  });

  it('reads the password from stdin with --password-stdin (the binary, spawned)', async () => {
    const host = await registry('token');
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [main, 'login', host, '-u', 'alice', '--password-stdin'],
        { env: { ...process.env, DOCKER_CONFIG: dockerConfig } },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
      );
      child.stdin?.end('wonderland\n');
    });
    expect(run).toEqual({
      code: 0,
      stdout: 'Login Succeeded\n',
      stderr: `warning: the password is stored unencrypted in ${configFile()}; a credential helper (credsStore there) keeps it in a keychain\n`,
    });
    expect(await readConfig()).toEqual({ auths: { [host]: { auth: basic('alice', 'wonderland') } } });
  });

  it('answers a command line it cannot run with a usage error (exit 2) and stores nothing', async () => {
    for (const argv of [
      ['login', 'r.example', '-p', 'secret'],
      ['login', 'r.example', '-u', 'alice'],
      ['login', 'r.example', '-u', 'alice', '-p', ''],
      ['login', 'r.example', '-u', 'a:b', '-p', 'secret'],
      ['login', 'r.example', '-u', 'alice', '-p', 'secret', '--password-stdin'],
      ['login', 'quay.io/team', '-u', 'alice', '-p', 'secret'],
      ['logout', 'quay.io/team'],
      ['auth', 'tokens', 'r.example/app'],
      ['auth', 'token', 'oci:./layout'],
    ]) {
      const answer = await stevedore(...argv);
      expect(answer.code, argv.join(' ')).toBe(2);
      expect(answer.stderr, argv.join(' ')).toMatch(
        /^stevedore: ERR_USAGE: .+\nhint: see "stevedore \w+ --help"\n$/,
      );
    }
    await expect(stat(configFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('logout', () => {
  it('removes the auths entries, says when there was nothing, and other verbs stop using them', async () => {
    const host = await registry('basic');
    expect((await stevedore('login', host, '-u', 'alice', '-p', 'wonderland')).code).toBe(0);
    await writeFile(
      configFile(),
      JSON.stringify({
        auths: {
          [`https://${host}/v2/`]: { auth: basic('alice', 'wonderland') },
          [host]: { auth: basic('alice', 'wonderland') },
          'other.example': { auth: basic('x', 'y') },
        },
      }),
    );
    expect(await stevedore('logout', host)).toMatchObject({
      code: 0,
      stdout: `Removed login credentials for ${host}\n`,
      stderr: '',
    });
    expect(await readConfig()).toEqual({ auths: { 'other.example': { auth: basic('x', 'y') } } });
    expect((await stevedore('catalog', host)).code).toBe(1);
    expect(await stevedore('logout', `https://${host}/`)).toMatchObject({
      code: 0,
      stdout: `Not logged in to ${host}\n`,
    });
    expect(JSON.parse((await stevedore('logout', '--json', host)).stdout)).toEqual({
      registry: host,
      removed: false,
      file: configFile(),
    });
  });
});

describe('readPassword', () => {
  it('reads to the end, dropping one trailing newline, whole characters across chunks', async () => {
    expect(await readPassword(Readable.from(['wonder', 'land\n']))).toBe('wonderland');
    expect(await readPassword(Readable.from(['crlf\r\n']))).toBe('crlf');
    expect(await readPassword(Readable.from(['two\n\n']))).toBe('two\n');
    const euro = new TextEncoder().encode('pa€€');
    expect(await readPassword(Readable.from([euro.subarray(0, 3), euro.subarray(3)]))).toBe('pa€€');
    expect(await readPassword(Readable.from([]))).toBe('');
  });
});

describe('registryNameOf', () => {
  it("takes a registry as docker does, Docker Hub's names as docker.io", () => {
    expect(registryNameOf('localhost:5000', 'login')).toBe('localhost:5000');
    expect(registryNameOf('https://ghcr.io/', 'login')).toBe('ghcr.io');
    expect(registryNameOf('http://10.0.0.2:5000/v2/', 'login')).toBe('10.0.0.2:5000');
    expect(registryNameOf('https://index.docker.io/v1/', 'login')).toBe('docker.io');
    expect(registryNameOf('registry-1.docker.io', 'login')).toBe('docker.io');
    expect(() => registryNameOf('ghcr.io/team', 'login')).toThrow(/login takes a registry/);
    expect(() => registryNameOf('', 'logout')).toThrow(/logout takes a registry/);
  });
});
