import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { assembleIndex } from '@stevedore/image';
import { type Descriptor, type ImageConfig, MediaTypes } from '@stevedore/manifest';
import { smallImage, tarLayout } from '@stevedore-internal/test-support';
import { describe, expect, it } from 'vitest';

import { directoryWith, exists, registry, temporary } from '../../test/fixtures.ts';
import { runCliCapturing } from '../run-cli.ts';

/** A run of the command line in this process, its output captured; `env` is its environment. */
const stevedoreWith = (env: Record<string, string>, ...argv: string[]) => runCliCapturing(argv, { env });

const stevedore = (...argv: string[]) => stevedoreWith({}, ...argv);

/** The parts of a manifest or index (as JSON) these tests look at. */
interface ManifestJson {
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

async function configOf(image: string): Promise<ImageConfig> {
  const run = await stevedore('config', image);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

async function manifestOf(image: string): Promise<ManifestJson> {
  const run = await stevedore('manifest', image);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** The names in the flattened filesystem of `image`, through `export`. */
async function filesOf(image: string): Promise<string[]> {
  const file = join(await temporary(), 'rootfs.tar');
  const run = await stevedore('export', image, file);
  expect(run.code, run.stderr).toBe(0);
  return (await tarLayout(new Uint8Array(await readFile(file)))).map((entry) => entry.name);
}

describe('stevedore build', () => {
  it('builds a directory into an OCI layout with the config of the flags, reproducibly', async () => {
    const root = await directoryWith({ 'bin/app': '#!/bin/sh\necho hi\n', 'etc/app.conf': 'port=8080\n' });
    const layout = join(await temporary(), 'layout');
    const argv = [
      'build',
      root,
      '--entrypoint',
      '["/bin/app", "--serve"]',
      '--cmd=--port  8080', // a value starting with a dash goes after =, as parseArgs wants
      '--env',
      'PORT=8080',
      '--env',
      'MODE=a=b',
      '--label',
      'team=web',
      '--label',
      'version=1.0',
      '--workdir',
      '/srv',
      '--user',
      '1000:1000',
      '--annotation',
      'org.opencontainers.image.source=https://example.com/app',
    ];
    const built = await stevedore(...argv, '--to', `oci:${layout}:v1`);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(built.stderr).toMatch(/^build: 2\/2 blobs/m); // the layer and the config, off a terminal
    expect((await stevedore('digest', `oci:${layout}:v1`)).stdout).toBe(built.stdout);

    const config = await configOf(`oci:${layout}:v1`);
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Entrypoint: ['/bin/app', '--serve'],
        Cmd: ['--port', '8080'],
        Env: ['PORT=8080', 'MODE=a=b'],
        Labels: { team: 'web', version: '1.0' },
        WorkingDir: '/srv',
        User: '1000:1000',
      },
    });
    expect(config.rootfs.diff_ids).toHaveLength(1);
    const manifest = await manifestOf(`oci:${layout}:v1`);
    expect(manifest.mediaType).toBe(MediaTypes.OciManifest);
    expect(manifest.layers[0]?.mediaType).toBe(MediaTypes.OciLayerGzip);
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.source': 'https://example.com/app' });
    expect(await filesOf(`oci:${layout}:v1`)).toEqual(['bin/', 'bin/app', 'etc/', 'etc/app.conf']);

    // The same inputs, the same digest; SOURCE_DATE_EPOCH moves the times, so the digest.
    expect((await stevedore(...argv, '--to', `oci:${layout}:again`)).stdout).toBe(built.stdout);
    const dated = await stevedoreWith(
      { SOURCE_DATE_EPOCH: '1700000000' },
      ...argv,
      '--to',
      `oci:${layout}:d`,
    );
    expect(dated.code, dated.stderr).toBe(0);
    expect(dated.stdout).not.toBe(built.stdout);
    expect((await configOf(`oci:${layout}:d`)).created).toBe('2023-11-14T22:13:20Z');
  });

  it('builds into a registry for a platform and prints JSON', async () => {
    const server = await registry();
    const root = await directoryWith({ app: 'arm app' });
    const run = await stevedore(
      'build',
      root,
      '--platform',
      'linux/arm64/v8',
      '--entrypoint',
      '/app',
      '--json',
      '--to',
      `${server.host}/team/app:v1`,
    );
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toEqual({
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      destination: `docker://${server.host}/team/app:v1`,
    });
    expect(run.stderr).toBe(''); // no progress with --json
    expect((await stevedore('digest', `${server.host}/team/app:v1`)).stdout).toBe(`${printed.digest}\n`);
    expect(await configOf(`${server.host}/team/app:v1`)).toMatchObject({
      architecture: 'arm64',
      variant: 'v8',
      config: { Entrypoint: ['/app'] },
    });
  });

  it('builds the Docker format, zstd and uncompressed layers, from directories and tar files', async () => {
    const base = await directoryWith({ 'etc/os-release': 'ID=test\n' });
    const app = await directoryWith({ 'app/main': 'main' });
    const work = await temporary();
    // A tar file as the last layer: the filesystem of a first build, exported.
    expect((await stevedore('build', app, '--to', `oci:${work}/layout:app`)).code).toBe(0);
    const tar = join(work, 'app.tar');
    expect((await stevedore('export', `oci:${work}/layout:app`, tar)).code).toBe(0);

    const docker = await stevedore(
      'build',
      base,
      tar,
      '--format',
      'docker',
      '--to',
      `oci:${work}/layout:docker`,
    );
    expect(docker.code, docker.stderr).toBe(0);
    const dockerManifest = await manifestOf(`oci:${work}/layout:docker`);
    expect(dockerManifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(dockerManifest.layers.map((layer: { mediaType: string }) => layer.mediaType)).toEqual([
      MediaTypes.DockerLayerGzip,
      MediaTypes.DockerLayerGzip,
    ]);
    expect(await filesOf(`oci:${work}/layout:docker`)).toEqual([
      'etc/',
      'etc/os-release',
      'app/',
      'app/main',
    ]);

    expect(
      (await stevedore('build', base, '--compression', 'zstd', '--to', `oci:${work}/layout:z`)).code,
    ).toBe(0);
    expect((await manifestOf(`oci:${work}/layout:z`)).layers[0]?.mediaType).toBe(MediaTypes.OciLayerZstd);
    expect(
      (await stevedore('build', base, '--compression', 'none', '--to', `oci:${work}/layout:n`)).code,
    ).toBe(0);
    expect((await manifestOf(`oci:${work}/layout:n`)).layers[0]?.mediaType).toBe(MediaTypes.OciLayer);

    // docker-archive: for docker load.
    const archive = join(work, 'docker.tar');
    const saved = await stevedore(
      'build',
      base,
      '--format',
      'docker',
      '--to',
      `docker-archive:${archive}:app:v1`,
    );
    expect(saved.code, saved.stderr).toBe(0);
    expect((await stevedore('ls', `docker-archive:${archive}`)).stdout).toContain('v1');
  });

  it('answers a wrong command line with exit 2 and a failed build with exit 1, writing nothing', async () => {
    const root = await directoryWith({ file: 'x' });
    const work = await temporary();
    const layout = join(work, 'layout');
    const usage = async (...argv: string[]) => {
      const run = await stevedore(...argv);
      expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/^stevedore: ERR_USAGE: /);
      expect(run.stderr).toContain('hint: see "stevedore build --help"');
      return run.stderr;
    };
    expect(await usage('build', root)).toContain('build needs --to ENDPOINT');
    expect(await usage('build', root, '--env', 'PORT', '--to', `oci:${layout}`)).toContain(
      '--env takes KEY=VALUE, got "PORT"',
    );
    expect(await usage('build', root, '--label', '=x', '--to', `oci:${layout}`)).toContain(
      '--label takes KEY=VALUE',
    );
    expect(await usage('build', root, '--entrypoint', '["/app",', '--to', `oci:${layout}`)).toContain(
      'not a JSON array of strings',
    );
    expect(await usage('build', root, '--cmd', '[1, 2]', '--to', `oci:${layout}`)).toContain(
      'not a JSON array of strings',
    );
    expect(await usage('build', root, '--compression', 'xz', '--to', `oci:${layout}`)).toContain(
      '--compression takes gzip, zstd or none',
    );
    expect(await usage('build', root, '--format', 'v1', '--to', `oci:${layout}`)).toContain(
      '--format takes oci or docker',
    );
    expect(
      await usage(
        'build',
        root,
        '--platform',
        'linux/amd64',
        '--platform',
        'linux/arm64',
        '--to',
        `oci:${layout}`,
      ),
    ).toContain('one platform');
    expect(
      await usage('build', root, '--format', 'docker', '--annotation', 'a=b', '--to', `oci:${layout}`),
    ).toContain('--annotation needs the OCI format');
    expect(
      await stevedoreWith({ SOURCE_DATE_EPOCH: 'yesterday' }, 'build', root, '--to', `oci:${layout}`),
    ).toMatchObject({
      code: 2,
    });
    expect((await stevedore('build', '--to', `oci:${layout}`)).code).toBe(2); // no input

    const missing = await stevedore('build', root, join(work, 'no-such-dir'), '--to', `oci:${layout}:v1`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stevedore: ERR_READ_FAILED: cannot read .*no-such-dir/);
    const zstdDocker = await stevedore(
      'build',
      root,
      '--format',
      'docker',
      '--compression',
      'zstd',
      '--to',
      `oci:${layout}:v1`,
    );
    expect(zstdDocker.code).toBe(1);
    expect(zstdDocker.stderr).toMatch(/^stevedore: ERR_UNSUPPORTED_MEDIA_TYPE: /);
    const badEndpoint = await stevedore('build', root, '--to', 'oci:');
    expect(badEndpoint.code).toBe(1);
    expect(badEndpoint.stderr).toMatch(/^stevedore: ERR_ENDPOINT_INVALID: /);
    expect(await exists(layout)).toBe(false);
  });
});

describe('stevedore append', () => {
  it('adds layers from a directory and a tar file, keeping the base layers and config', async () => {
    const work = await temporary();
    const base = await directoryWith({ 'etc/base': 'base' });
    expect(
      (await stevedore('build', base, '--entrypoint', '/bin/sh', '--to', `oci:${work}/layout:base`)).code,
    ).toBe(0);
    const extra = await directoryWith({ 'opt/extra': 'extra' });
    expect((await stevedore('build', extra, '--to', `oci:${work}/layout:extra`)).code).toBe(0);
    const tar = join(work, 'extra.tar');
    expect((await stevedore('export', `oci:${work}/layout:extra`, tar)).code).toBe(0);
    const app = await directoryWith({ 'app/main': 'main' });

    const appended = await stevedore(
      'append',
      `oci:${work}/layout:base`,
      app,
      tar,
      '--to',
      `oci:${work}/layout:app`,
    );
    expect(appended.code, appended.stderr).toBe(0);
    expect((await stevedore('digest', `oci:${work}/layout:app`)).stdout).toBe(appended.stdout);
    const before = await manifestOf(`oci:${work}/layout:base`);
    const after = await manifestOf(`oci:${work}/layout:app`);
    expect(after.layers).toHaveLength(3);
    expect(after.layers[0]).toEqual(before.layers[0]);
    const config = await configOf(`oci:${work}/layout:app`);
    expect(config.config?.Entrypoint).toEqual(['/bin/sh']);
    expect(config.history?.map((entry) => entry.created_by)).toEqual([
      'stevedore build',
      'stevedore append',
      'stevedore append',
    ]);
    expect(await filesOf(`oci:${work}/layout:app`)).toEqual([
      'etc/',
      'etc/base',
      'app/',
      'app/main',
      'opt/',
      'opt/extra',
    ]);
  });

  it('appends to one platform of an index in a registry', async () => {
    const server = await registry();
    const index = await assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
    ]);
    await copy(index, `docker://${server.host}/multi:latest`, { all: true });
    const app = await directoryWith({ app: 'app' });
    const run = await stevedore(
      'append',
      '--platform',
      'linux/arm64',
      '--json',
      `${server.host}/multi:latest`,
      app,
      '--to',
      `${server.host}/app:arm`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ destination: `docker://${server.host}/app:arm` });
    const config = await configOf(`${server.host}/app:arm`);
    expect(config.architecture).toBe('arm64');
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(await filesOf(`${server.host}/app:arm`)).toEqual(['arm', 'app']);
  });

  it('fails clearly without --to, a base or a layer, writing nothing', async () => {
    const work = await temporary();
    const app = await directoryWith({ app: 'app' });
    const layout = join(work, 'layout');
    expect(await stevedore('append', `oci:${layout}:base`, app)).toMatchObject({ code: 2 });
    const one = await stevedore('append', `oci:${layout}:base`, '--to', `oci:${layout}:x`);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('append takes at least 2');
    const noBase = await stevedore(
      'append',
      `oci:${join(work, 'none')}:base`,
      app,
      '--to',
      `oci:${layout}:app`,
    );
    expect(noBase.code).toBe(1);
    expect(noBase.stderr).toMatch(/^stevedore: ERR_/);
    expect(await exists(layout)).toBe(false);

    expect((await stevedore('build', app, '--to', `oci:${work}/base:v1`)).code).toBe(0);
    const noLayer = await stevedore(
      'append',
      `oci:${work}/base:v1`,
      join(work, 'missing'),
      '--to',
      `oci:${layout}:app`,
    );
    expect(noLayer.code).toBe(1);
    expect(noLayer.stderr).toMatch(/^stevedore: ERR_READ_FAILED: /);
    expect(await exists(layout)).toBe(false);
  });
});
