import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { assembleIndex, imageDigest } from '@stevedore/image';
import { smallImage } from '@stevedore-internal/test-support';
import { describe, expect, it } from 'vitest';
import { registry } from '../test/fixtures.ts';
import { runCliCapturing } from './run-cli.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

async function layoutWithImage(): Promise<{ layout: string; digest: string }> {
  const layout = join(await mkdtemp(join(tmpdir(), 'stevedore-cli-')), 'layout');
  const image = await smallImage('cli');
  const { digest } = await copy(image, `oci:${layout}:v1`);
  return { layout, digest };
}

describe('the command line', () => {
  it('prints help and its version, and answers usage errors with exit 2 and a hint', async () => {
    const help = await stevedore('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: stevedore VERB');
    expect(help.stdout).toMatch(/copy, cp +copy an image/);
    const version = await stevedore('--version');
    expect(version).toMatchObject({
      code: 0,
      stdout: `${JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version}\n`,
    });
    const verbHelp = await stevedore('copy', '--help');
    expect(verbHelp.stdout).toContain('Usage: stevedore copy SOURCE DESTINATION');
    expect(verbHelp.stdout).toContain('Aliases: cp');

    expect(await stevedore()).toMatchObject({ code: 2 });
    const unknown = await stevedore('cpy', 'a', 'b');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('stevedore: ERR_USAGE: unknown verb "cpy"\nhint: did you mean copy or cp?\n');
    const missing = await stevedore('copy', 'a');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('copy takes 2 arguments (SOURCE DESTINATION), got 1');
    const flag = await stevedore('copy', '--bogus', 'a', 'b');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--bogus'");
    expect((await stevedore('copy', '--concurrency', 'many', 'a', 'b')).code).toBe(2);
    expect((await stevedore('--quiet')).code).toBe(2);
    expect((await stevedore('--bogus', 'copy', 'a', 'b')).stderr).toContain('unknown verb "--bogus"');
  });

  it('copies a layout to a registry and lists, inspects, tags, fetches and deletes there', async () => {
    const server = await registry();
    const { layout, digest } = await layoutWithImage();
    const pushed = await stevedore('copy', `oci:${layout}:v1`, `${server.host}/team/app:v1`);
    expect(pushed).toMatchObject({ code: 0, stdout: `${digest}\n` });
    expect(pushed.stderr).toMatch(/^copy: 2\/2 blobs/m); // a line per blob, then the total, off a terminal

    expect((await stevedore('ls', `${server.host}/team/app`)).stdout).toBe('v1\n');
    expect((await stevedore('catalog', server.host)).stdout).toBe('team/app\n');
    expect((await stevedore('tag', `${server.host}/team/app:v1`, 'latest')).stdout).toBe(
      `${server.host}/team/app:latest\n`,
    );
    expect(
      JSON.parse((await stevedore('list-tags', '--json', `docker://${server.host}/team/app`)).stdout),
    ).toEqual(['latest', 'v1']);
    expect((await stevedore('digest', `${server.host}/team/app:latest`)).stdout).toBe(`${digest}\n`);

    const inspected = await stevedore('inspect', `${server.host}/team/app:v1`);
    expect(inspected.stdout).toContain(`digest:     ${digest}`);
    expect(inspected.stdout).toContain('platform:   linux/amd64');
    const json = JSON.parse((await stevedore('inspect', '--json', `${server.host}/team/app:v1`)).stdout);
    expect(json).toMatchObject({ digest, tag: 'v1', config: { architecture: 'amd64', os: 'linux' } });

    const manifest = await stevedore('manifest', `${server.host}/team/app:v1`);
    const layoutManifest = await stevedore('manifest', `oci:${layout}:v1`);
    expect(manifest.stdout).toBe(layoutManifest.stdout);
    const config = JSON.parse((await stevedore('config', `${server.host}/team/app:v1`)).stdout);
    expect(config.rootfs.diff_ids).toHaveLength(1);

    const configDigest = json.manifest.config.digest as string;
    const blobFile = join(layout, '..', 'config.json');
    expect((await stevedore('blob', '-o', blobFile, `${server.host}/team/app@${configDigest}`)).code).toBe(0);
    expect(JSON.parse(await readFile(blobFile, 'utf8'))).toEqual(config);
    const noBlob = await stevedore('blob', `${server.host}/team/app@sha256:${'0'.repeat(64)}`);
    expect(noBlob).toMatchObject({ code: 1 });
    expect(noBlob.stderr).toContain('ERR_NOT_FOUND');

    expect((await stevedore('delete', `${server.host}/team/app:latest`)).code).toBe(0);
    expect((await stevedore('ls', `${server.host}/team/app`)).stdout).toBe('');
    const gone = await stevedore('manifest', `${server.host}/team/app:v1`);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^stevedore: ERR_REGISTRY_RESPONSE: .*404 MANIFEST_UNKNOWN/);
    expect(gone.stderr).not.toContain('    at '); // the stack only with --verbose
    const verbose = await stevedore('manifest', '--verbose', `${server.host}/team/app:v1`);
    expect(verbose.stderr).toContain('    at ');
    // --verbose tells each request: method, URL, status, time.
    expect(verbose.stderr).toMatch(
      new RegExp(`^GET http://${server.host}/v2/team/app/manifests/v1 404 \\d+ ms$`, 'm'),
    );
  });

  it('copies one platform, or all, of an index, and inspects an index', async () => {
    const server = await registry();
    const index = await assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
    ]);
    await copy(index, `docker://${server.host}/multi:latest`, { all: true });
    const listed = await stevedore('inspect', `${server.host}/multi:latest`);
    expect(listed.stdout).toContain(`digest:     ${imageDigest(index)}`);
    expect(listed.stdout).toMatch(/linux\/arm64\/v8 +sha256:/);

    const layout = join(await mkdtemp(join(tmpdir(), 'stevedore-cli-')), 'layout');
    const arm = await stevedore(
      'copy',
      '--platform',
      'linux/arm64',
      `${server.host}/multi:latest`,
      `oci:${layout}:arm`,
    );
    expect(arm.code).toBe(0);
    expect(JSON.parse((await stevedore('config', `oci:${layout}:arm`)).stdout).architecture).toBe('arm64');
    // Global flags before the verb, as crane takes them.
    const all = await stevedore(
      '--all',
      '--concurrency',
      '2',
      '-q',
      'cp',
      `${server.host}/multi:latest`,
      `oci:${layout}:all`,
    );
    expect(all).toMatchObject({ code: 0, stdout: `${imageDigest(index)}\n`, stderr: '' });
    const both = await stevedore(
      'copy',
      '--all',
      '--platform',
      'linux/amd64',
      `${server.host}/multi:latest`,
      `oci:${layout}:x`,
    );
    expect(both.code).toBe(2);
    const absent = await stevedore(
      'copy',
      '--platform',
      'linux/s390x',
      `${server.host}/multi:latest`,
      `oci:${layout}:x`,
    );
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('ERR_NO_MATCH');
  });

  it('gives a clear error for a bad endpoint and a missing layout, with nothing written', async () => {
    const bad = await stevedore('copy', 'nope:./x', 'oci:./y');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^stevedore: ERR_REFERENCE_INVALID|^stevedore: ERR_ENDPOINT_INVALID/);
    const missing = await stevedore('inspect', `oci:${join(tmpdir(), 'no-such-layout-here')}:v1`);
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')[0]).toMatch(/^stevedore: ERR_/);
  });
});
