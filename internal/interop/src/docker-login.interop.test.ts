// `docker login` (the docker CLI, which logs in by itself, no daemon needed) against our
// server with Basic auth and with its Docker token service: the way docker users log in to
// Docker Hub. docker is not one of the Debian peers .ci/run installs (Debian's docker.io
// CLI logs in through a daemon), so these tests are defined where a docker CLI that logs
// in by itself is on the PATH (the project's machines have docker 28), beside one that
// always runs: the server's challenge docker reads.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, startServer } from '@stevedore/server';
import bcrypt from 'bcryptjs';
import { expect, it } from 'vitest';

/** `docker login` with the password on stdin; its exit code and output. */
function dockerLogin(
  config: string,
  host: string,
  password: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'docker',
      ['login', '-u', 'alice', '--password-stdin', host],
      { env: { ...process.env, DOCKER_CONFIG: config } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end(`${password}\n`);
  });
}

// docker 23 and later log in from the CLI; older ones ask a daemon, which tests have not.
const dockerVersion = /version (\d+)\./.exec(
  spawnSync('docker', ['--version'], { encoding: 'utf8' }).stdout ?? '',
);
const dockerLogsInItself = Number(dockerVersion?.[1] ?? 0) >= 23;

it('answers an anonymous /v2/ with the challenge docker login follows', async () => {
  const server = await startServer({
    store: createMemoryStore(),
    auth: { htpasswd: { alice: bcrypt.hashSync('wonderland', 5) }, token: true },
  });
  try {
    const answer = await fetch(`${server.url}/v2/`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="[^"]+"$/,
    );
  } finally {
    await server.close();
  }
});

const modes = [
  ['Basic auth', false],
  ['Docker token auth', true],
] as const;
for (const [name, token] of dockerLogsInItself ? modes : []) {
  it(`docker login with ${name}: refuses a wrong password, then logs in and stores the login`, async () => {
    const server = await startServer({
      store: createMemoryStore(),
      auth: { htpasswd: { alice: bcrypt.hashSync('wonderland', 5) }, ...(token ? { token: true } : {}) },
    });
    try {
      const config = await mkdtemp(join(tmpdir(), 'stevedore-docker-login-'));
      const refused = await dockerLogin(config, server.host, 'guess');
      expect(refused.code).not.toBe(0);
      expect(refused.output).toMatch(/401|unauthorized/i);
      const accepted = await dockerLogin(config, server.host, 'wonderland');
      expect(accepted).toMatchObject({ code: 0 });
      expect(accepted.output).toContain('Login Succeeded');
      const stored = JSON.parse(await readFile(join(config, 'config.json'), 'utf8'));
      expect(stored.auths[server.host].auth).toBe(Buffer.from('alice:wonderland').toString('base64'));
    } finally {
      await server.close();
    }
  });
}
