import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { assembleIndex } from '@stevedore/image';
import { type Descriptor, type ImageConfig, MediaTypes } from '@stevedore/manifest';
import { smallImage, tarLayout } from '@stevedore-internal/test-support';
import { describe, expect, it } from 'vitest';

import { directoryWith, exists, registry, temporary } from '../../test/fixtures.ts';
import { runCliCapturing } from '../run-cli.ts';

/** A run of the command line in this process, its output captured; a terminal when `tty`. */
const stevedoreWith = (options: { tty?: boolean }, ...argv: string[]) =>
  runCliCapturing(argv, { isTTY: options.tty === true });

const stevedore = (...argv: string[]) => stevedoreWith({}, ...argv);

/** Runs a command that must succeed; its stdout. */
async function ok(...argv: string[]): Promise<string> {
  const run = await stevedore(...argv);
  expect(run.code, `${argv.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

/** The parts of a manifest or index (as JSON) these tests look at. */
interface ManifestJson {
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

async function configOf(image: string, ...flags: string[]): Promise<ImageConfig> {
  return JSON.parse(await ok('config', ...flags, image));
}

async function manifestOf(image: string, ...flags: string[]): Promise<ManifestJson> {
  return JSON.parse(await ok('manifest', ...flags, image));
}

const digestsOf = (manifest: ManifestJson): string[] => manifest.layers.map((layer) => layer.digest);

/**
 * An image of two layers in `layout` under `tag`: a base (`etc/base`, `gone`) with an
 * entrypoint and env, then an app layer (`app/main`, and `.wh.gone`, a whiteout of `gone`).
 */
async function twoLayerImage(layout: string, tag: string): Promise<void> {
  const base = await directoryWith({ 'etc/base': 'base', gone: 'soon gone' });
  const app = await directoryWith({ 'app/main': 'main', '.wh.gone': '' });
  await ok(
    'build',
    base,
    '--entrypoint',
    '/bin/sh',
    '--env',
    'A=1',
    '--env',
    'B=2',
    '--label',
    'keep=yes',
    '--to',
    `oci:${layout}:${tag}-base`,
  );
  await ok('append', `oci:${layout}:${tag}-base`, app, '--to', `oci:${layout}:${tag}`);
}

describe('stevedore mutate', () => {
  it('changes the config and annotations of a layout image in place, keeping its layers', async () => {
    const layout = join(await temporary(), 'layout');
    await twoLayerImage(layout, 'app');
    const before = await manifestOf(`oci:${layout}:app`);
    const digest = await ok(
      'mutate',
      `oci:${layout}:app`,
      '--entrypoint',
      '/app/main serve',
      '--cmd',
      '',
      '--env',
      'B=3',
      '--env',
      'C=4',
      '--label',
      'version=2',
      '--workdir',
      '/app',
      '--user',
      'nobody',
      '--annotation',
      'org.opencontainers.image.version=2',
    );
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(await ok('digest', `oci:${layout}:app`)).toBe(digest); // written back to IMAGE
    const config = await configOf(`oci:${layout}:app`);
    expect(config.config).toEqual({
      Entrypoint: ['/app/main', 'serve'],
      Cmd: [],
      Env: ['A=1', 'B=3', 'C=4'],
      Labels: { keep: 'yes', version: '2' },
      WorkingDir: '/app',
      User: 'nobody',
    });
    const after = await manifestOf(`oci:${layout}:app`);
    expect(digestsOf(after)).toEqual(digestsOf(before));
    expect(after.annotations).toEqual({ 'org.opencontainers.image.version': '2' });
    expect(after.config.digest).not.toBe(before.config.digest);

    // With --to, the source stays as it was.
    const moved = await ok(
      'mutate',
      `oci:${layout}:app`,
      '--label',
      'copy=yes',
      '--to',
      `oci:${layout}:other`,
    );
    expect(await ok('digest', `oci:${layout}:app`)).toBe(digest);
    expect(await ok('digest', `oci:${layout}:other`)).toBe(moved);
    expect((await configOf(`oci:${layout}:other`)).config?.Labels).toEqual({
      keep: 'yes',
      version: '2',
      copy: 'yes',
    });
  });

  it('changes an image in a registry in place and prints JSON', async () => {
    const server = await registry();
    const root = await directoryWith({ app: 'app' });
    await ok('build', root, '--entrypoint', '/app', '--to', `${server.host}/team/app:v1`);
    const before = await manifestOf(`${server.host}/team/app:v1`);
    const run = await stevedore('mutate', '--json', `${server.host}/team/app:v1`, '--env', 'MODE=prod');
    expect(run.code, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toEqual({
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      destination: `docker://${server.host}/team/app:v1`,
    });
    expect(await ok('digest', `${server.host}/team/app:v1`)).toBe(`${printed.digest}\n`);
    expect((await configOf(`${server.host}/team/app:v1`)).config).toEqual({
      Entrypoint: ['/app'],
      Env: ['MODE=prod'],
    });
    expect(digestsOf(await manifestOf(`${server.host}/team/app:v1`))).toEqual(digestsOf(before));
  });

  it('changes the chosen platforms of an index, and annotates the index itself', async () => {
    const layout = join(await temporary(), 'layout');
    const index = await assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
    ]);
    await copy(index, `oci:${layout}:multi`, { all: true });

    const arm = await stevedore(
      'mutate',
      '--platform',
      'linux/arm64',
      `oci:${layout}:multi`,
      '--label',
      'arm=yes',
    );
    expect(arm.code, arm.stderr).toBe(0);
    const changed = await manifestOf(`oci:${layout}:multi`);
    expect(changed.mediaType).toBe(MediaTypes.OciIndex);
    expect(changed.manifests).toHaveLength(2);
    expect((await configOf(`oci:${layout}:multi`, '--platform', 'linux/arm64')).config).toEqual({
      Labels: { arm: 'yes' },
    });
    expect((await configOf(`oci:${layout}:multi`, '--platform', 'linux/amd64')).config).toBeUndefined();

    await ok('mutate', '--all', `oci:${layout}:multi`, '--env', 'ALL=1');
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      expect((await configOf(`oci:${layout}:multi`, '--platform', platform)).config?.Env).toEqual(['ALL=1']);
    }

    const entries = (await manifestOf(`oci:${layout}:multi`)).manifests;
    await ok('mutate', `oci:${layout}:multi`, '--annotation', 'note=index');
    const annotated = await manifestOf(`oci:${layout}:multi`);
    expect(annotated.annotations).toEqual({ note: 'index' });
    expect(annotated.manifests).toEqual(entries); // its images untouched

    const none = await stevedore(
      'mutate',
      '--platform',
      'linux/s390x',
      `oci:${layout}:multi`,
      '--label',
      'x=y',
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^stevedore: ERR_NO_MATCH: /);
  });

  it('refuses a mutation with nothing to change, bad flags, or a Docker image to annotate, writing nothing', async () => {
    const work = await temporary();
    const root = await directoryWith({ app: 'app' });
    await ok('build', root, '--format', 'docker', '--to', `oci:${work}/source:docker`);
    const nothing = await stevedore('mutate', `oci:${work}/source:docker`);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(
      'mutate has nothing to change: give at least one of --entrypoint, --cmd',
    );
    expect((await stevedore('mutate', `oci:${work}/source:docker`, '--env', 'NOEQUALS')).code).toBe(2);
    expect(
      (
        await stevedore(
          'mutate',
          '--all',
          '--platform',
          'linux/amd64',
          `oci:${work}/source:docker`,
          '--user',
          'x',
        )
      ).code,
    ).toBe(2);
    expect((await stevedore('mutate', `oci:${work}/source:docker`, 'extra', '--user', 'x')).code).toBe(2);

    const docker = await stevedore(
      'mutate',
      `oci:${work}/source:docker`,
      '--annotation',
      'a=b',
      '--to',
      `oci:${work}/out:x`,
    );
    expect(docker.code).toBe(1);
    expect(docker.stderr).toMatch(/^stevedore: ERR_UNSUPPORTED_MEDIA_TYPE: /);
    const missing = await stevedore(
      'mutate',
      `oci:${work}/absent:v1`,
      '--user',
      'x',
      '--to',
      `oci:${work}/out:x`,
    );
    expect(missing.code).toBe(1);
    expect(await exists(join(work, 'out'))).toBe(false);
  });
});

describe('stevedore flatten', () => {
  it('merges the layers into one holding the effective filesystem, keeping the config', async () => {
    const layout = join(await temporary(), 'layout');
    await twoLayerImage(layout, 'app');
    const run = await stevedore(
      'flatten',
      `oci:${layout}:app`,
      '--compression',
      'none',
      '--to',
      `oci:${layout}:flat`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await ok('digest', `oci:${layout}:flat`)).toBe(run.stdout);
    const manifest = await manifestOf(`oci:${layout}:flat`);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]?.mediaType).toBe(MediaTypes.OciLayer);
    const config = await configOf(`oci:${layout}:flat`);
    expect(config.config).toMatchObject({ Entrypoint: ['/bin/sh'], Env: ['A=1', 'B=2'] });
    expect(config.history).toHaveLength(1);
    // The layer itself, read through the layout: `gone` is whited out.
    const blob = join(layout, 'blobs', 'sha256', (manifest.layers[0]?.digest ?? '').slice('sha256:'.length));
    const names = (await tarLayout(new Uint8Array(await readFile(blob)))).map((entry) => entry.name);
    expect(names).toEqual(['etc/', 'etc/base', 'app/', 'app/main']);
    expect((await manifestOf(`oci:${layout}:app`)).layers).toHaveLength(2); // the source is kept

    // In place, and printed as JSON.
    const json = await stevedore('flatten', '--json', `oci:${layout}:app`);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      digest: expect.stringMatching(/^sha256:/),
      destination: `oci:${layout}:app`,
    });
    expect((await manifestOf(`oci:${layout}:app`)).layers).toHaveLength(1);
    // Its scratch directory is gone: only blobs of the layout remain where it wrote.
    expect(await readdir(layout)).toEqual(expect.arrayContaining(['blobs', 'index.json', 'oci-layout']));
  });

  it('flattens every platform of an index with --all, and fails clearly on a bad flag', async () => {
    const server = await registry();
    const index = await assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
    ]);
    await copy(index, `docker://${server.host}/multi:latest`, { all: true });
    const run = await stevedore('flatten', '--all', '--compression', 'zstd', `${server.host}/multi:latest`);
    expect(run.code, run.stderr).toBe(0);
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const manifest = await manifestOf(`${server.host}/multi:latest`, '--platform', platform);
      expect(manifest.layers).toHaveLength(1);
      expect(manifest.layers[0]?.mediaType).toBe(MediaTypes.OciLayerZstd);
    }
    expect((await stevedore('flatten', '--compression', 'lz4', `${server.host}/multi:latest`)).code).toBe(2);
  });
});

describe('stevedore rebase', () => {
  it('swaps the base under an image, and refuses an image not on the old base', async () => {
    const layout = join(await temporary(), 'layout');
    const oldBase = await directoryWith({ 'etc/version': '12.5' });
    const newBase = await directoryWith({ 'etc/version': '12.6', 'etc/patched': 'yes' });
    const app = await directoryWith({ 'app/main': 'main' });
    await ok('build', oldBase, '--to', `oci:${layout}:old`);
    await ok('build', newBase, '--to', `oci:${layout}:new`);
    await ok('append', `oci:${layout}:old`, app, '--to', `oci:${layout}:app`);
    await ok('mutate', `oci:${layout}:app`, '--entrypoint', '/app/main');
    const before = await manifestOf(`oci:${layout}:app`);

    const run = await stevedore(
      'rebase',
      `oci:${layout}:app`,
      '--old-base',
      `oci:${layout}:old`,
      '--new-base',
      `oci:${layout}:new`,
      '--to',
      `oci:${layout}:rebased`,
    );
    expect(run.code, run.stderr).toBe(0);
    const after = await manifestOf(`oci:${layout}:rebased`);
    expect(digestsOf(after)).toEqual([
      ...digestsOf(await manifestOf(`oci:${layout}:new`)),
      digestsOf(before)[1],
    ]);
    expect((await configOf(`oci:${layout}:rebased`)).config?.Entrypoint).toEqual(['/app/main']);
    const exported = await stevedore('export', `oci:${layout}:rebased`);
    expect((await tarLayout(exported.stdoutBytes)).map((entry) => entry.name)).toEqual([
      'etc/',
      'etc/patched',
      'etc/version',
      'app/',
      'app/main',
    ]);

    const wrong = await stevedore(
      'rebase',
      `oci:${layout}:rebased`,
      '--old-base',
      `oci:${layout}:old`,
      '--new-base',
      `oci:${layout}:new`,
      '--to',
      `oci:${layout}-wrong:x`,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^stevedore: ERR_BASE_MISMATCH: image sha256:\w+ does not start with the layers of sha256:\w+: layer 0 is sha256:/,
    );
    expect(await exists(`${layout}-wrong`)).toBe(false);
  });

  it('rebases an image in a registry onto a base from a layout, and needs both bases', async () => {
    const server = await registry();
    const work = await temporary();
    const oldBase = await directoryWith({ 'lib/old': 'old' });
    const newBase = await directoryWith({ 'lib/new': 'new' });
    const app = await directoryWith({ app: 'app' });
    await ok('build', oldBase, '--to', `${server.host}/base:old`);
    await ok('build', newBase, '--to', `oci:${work}/layout:new`);
    await ok('append', `${server.host}/base:old`, app, '--to', `${server.host}/app:v1`);
    const run = await stevedore(
      'rebase',
      '--json',
      `${server.host}/app:v1`,
      '--old-base',
      `${server.host}/base:old`,
      '--new-base',
      `oci:${work}/layout:new`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).destination).toBe(`docker://${server.host}/app:v1`);
    const exported = await stevedore('export', `${server.host}/app:v1`);
    expect((await tarLayout(exported.stdoutBytes)).map((entry) => entry.name)).toEqual([
      'lib/',
      'lib/new',
      'app',
    ]);

    const half = await stevedore('rebase', `${server.host}/app:v1`, '--old-base', `${server.host}/base:old`);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('rebase needs --old-base OLD and --new-base NEW');
    expect(
      (await stevedore('rebase', '--all', `${server.host}/app:v1`, '--old-base', 'a', '--new-base', 'b'))
        .code,
    ).toBe(2);
  });
});

describe('stevedore export', () => {
  it('writes the flattened filesystem to a file or to stdout, the same bytes', async () => {
    const work = await temporary();
    const layout = join(work, 'layout');
    await twoLayerImage(layout, 'app');
    const file = join(work, 'rootfs.tar');
    const run = await stevedore('export', `oci:${layout}:app`, file);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^exported the filesystem of sha256:\w+ to .*rootfs\.tar \(/);
    const bytes = new Uint8Array(await readFile(file));
    const entries = await tarLayout(bytes);
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
      ['etc/', 'directory'],
      ['etc/base', 'file'],
      ['app/', 'directory'],
      ['app/main', 'file'],
    ]);
    expect((await readdir(work)).sort()).toEqual(['layout', 'rootfs.tar']); // no temporary file left

    const piped = await stevedore('export', `oci:${layout}:app`, '-');
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdoutBytes).toEqual(bytes);

    const json = await stevedore('export', '--json', `oci:${layout}:app`, join(work, 'again.tar'));
    expect(JSON.parse(json.stdout)).toEqual({
      digest: (await ok('digest', `oci:${layout}:app`)).trim(),
      file: join(work, 'again.tar'),
      size: bytes.length,
    });
  });

  it('exports one platform of an index, and refuses a terminal, --json on stdout and a missing image', async () => {
    const work = await temporary();
    const index = await assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
    ]);
    await copy(index, `oci:${work}/layout:multi`, { all: true });
    const arm = await stevedore('export', '--platform', 'linux/arm64', `oci:${work}/layout:multi`);
    expect(arm.code, arm.stderr).toBe(0);
    expect((await tarLayout(arm.stdoutBytes)).map((entry) => entry.name)).toEqual(['arm']);

    const tty = await stevedoreWith({ tty: true }, 'export', `oci:${work}/layout:multi`);
    expect(tty.code).toBe(2);
    expect(tty.stderr).toContain('refusing to write a tar to a terminal');
    expect(tty.stdoutBytes).toHaveLength(0);
    expect((await stevedore('export', '--json', `oci:${work}/layout:multi`)).code).toBe(2);
    expect((await stevedore('export', '--all', `oci:${work}/layout:multi`, join(work, 'x.tar'))).code).toBe(
      2,
    );

    const missing = await stevedore('export', `oci:${work}/absent:v1`, join(work, 'out.tar'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stevedore: ERR_/);
    const absent = await stevedore(
      'export',
      '--platform',
      'linux/s390x',
      `oci:${work}/layout:multi`,
      join(work, 'out.tar'),
    );
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/^stevedore: ERR_NO_MATCH: /);
    expect(await exists(join(work, 'out.tar'))).toBe(false);
  });
});
