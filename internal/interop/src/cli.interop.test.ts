// The `stevedore` binary as a user runs it (a spawned process), against distribution and
// against its own `serve`, with skopeo reading and writing beside it: output, --json
// shapes and exit codes.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { memoryBlobSink } from '@stevedore/image';
import { writeOciLayout } from '@stevedore/transport-oci';
import { beforeAll, describe, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';
import { startRegistry } from './registry.ts';

const packageJson = createRequire(import.meta.url).resolve('@stevedore/cli/package.json');
const MAIN = join(dirname(packageJson), 'src', 'main.ts');
const VERSION = (JSON.parse(await readFile(packageJson, 'utf8')) as { version: string }).version;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the binary to its end; never rejects on a failing exit code. */
function stevedore(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const text = (value: string) => new TextEncoder().encode(value);
let scratch: string;
let layout: string;
let digest: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-cli-interop-'));
  const image = await buildImage(
    [[{ name: 'app/run', type: 'file', content: text('#!/bin/sh\necho hello\n'), mode: 0o755 }]],
    { entrypoint: ['/app/run'], env: ['MODE=cli'] },
    { blobSink: memoryBlobSink, platform: 'linux/amd64' },
  );
  layout = join(scratch, 'layout');
  await writeOciLayout(layout, image, { tag: 'v1' });
  digest = image.manifest.digest.toString();
});

describe('the stevedore binary', () => {
  it('prints its version and help, and exits 2 on a usage error', async () => {
    expect(await stevedore('--version')).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await stevedore('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: stevedore VERB');
    const wrong = await stevedore('copy', 'only-one');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trimEnd().split('\n')).toEqual([
      'stevedore: ERR_USAGE: copy takes 2 arguments (SOURCE DESTINATION), got 1',
      'hint: see "stevedore copy --help"',
    ]);
  });

  it('pushes to distribution what skopeo reads back, and lists, inspects and deletes there', async (context) => {
    if (!(await needPeers(context, 'docker-registry', 'skopeo'))) return;
    const registry = await startRegistry();
    try {
      const pushed = await stevedore('copy', `oci:${layout}:v1`, `${registry.host}/team/app:v1`);
      expect(pushed.code).toBe(0);
      expect(pushed.stdout).toBe(`${digest}\n`);
      expect(pushed.stderr).toMatch(/^copy: \d+\/\d+ blobs/m);
      const seen = JSON.parse(
        await runPeer('skopeo', [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${registry.host}/team/app:v1`,
        ]),
      );
      expect(seen.layers).toHaveLength(1);
      const skopeoDigest = await runPeer('skopeo', [
        'inspect',
        '--format',
        '{{.Digest}}',
        '--tls-verify=false',
        `docker://${registry.host}/team/app:v1`,
      ]);
      expect(skopeoDigest.trim()).toBe(digest);

      const tags = await stevedore('ls', '--json', `${registry.host}/team/app`);
      expect({ code: tags.code, tags: JSON.parse(tags.stdout) }).toEqual({ code: 0, tags: ['v1'] });
      const inspected = JSON.parse(
        (await stevedore('inspect', '--json', `${registry.host}/team/app:v1`)).stdout,
      );
      expect(inspected).toMatchObject({
        digest,
        tag: 'v1',
        config: {
          os: 'linux',
          architecture: 'amd64',
          config: { Entrypoint: ['/app/run'], Env: ['MODE=cli'] },
        },
      });
      expect(Object.keys(inspected).sort()).toEqual([
        'config',
        'digest',
        'manifest',
        'mediaType',
        'size',
        'tag',
      ]);

      const missing = await stevedore('manifest', `${registry.host}/team/app:nope`);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^stevedore: ERR_REGISTRY_RESPONSE: .*404/);
      expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);

      // The interop registry allows deletes (storage.delete.enabled): by digest, tags and all.
      expect(await stevedore('delete', `${registry.host}/team/app:v1`)).toMatchObject({
        code: 0,
        stdout: '',
      });
      expect((await stevedore('ls', `${registry.host}/team/app`)).stdout).toBe('');
    } finally {
      await registry.stop();
    }
  });

  it('serves a registry that skopeo pushes to and stevedore reads, until SIGTERM', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const store = join(scratch, 'store');
    const server = spawn(process.execPath, [MAIN, 'serve', '--json', '--port', '0', '--store', store], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const started = await firstLine(server);
      const { url, host } = JSON.parse(started) as { url: string; host: string };
      expect(url).toBe(`http://${host}`);
      await runPeer('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${host}/pushed:v1`,
      ]);
      expect((await stevedore('digest', `${host}/pushed:v1`)).stdout).toBe(`${digest}\n`);
      expect((await stevedore('catalog', host)).stdout).toBe('pushed\n');
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });
});

/** The first line a process prints on stdout (the server prints its address once it listens). */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (data: string) => {
      output += data;
      // --json prints one JSON object over several lines: wait for it whole.
      try {
        resolve(JSON.stringify(JSON.parse(output)));
      } catch {
        // not whole yet
      }
    });
    child.once('exit', (code) => reject(new Error(`stevedore serve exited (${code}) before listening`)));
  });
}
