import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy, readSource } from '@stevedore/copy';
import { assembleIndex, imageDigest } from '@stevedore/image';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { rewriteTar, smallImage, tarLayout } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCapturing } from '../run-cli.ts';
import { pullDestination, pushSource, tarHasFile } from './pull-push.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

let scratch: string;
let server: RunningServer;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-pull-push-'));
  server = await startServer({ store: createMemoryStore() });
});
afterEach(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('stevedore push', () => {
  it('pushes a layout, a dir:, an oci-archive and a docker-archive, telling them by what they are', async () => {
    const image = await smallImage('push');
    const digest = imageDigest(image).toString();
    const layout = join(scratch, 'layout');
    await copy(image, `oci:${layout}:v1`);
    await copy(image, `dir:${join(scratch, 'dir')}`);
    await copy(image, `oci-archive:${join(scratch, 'image.oci.tar')}:v1`);
    await copy(image, `docker-archive:${join(scratch, 'image.docker.tar')}:app:v1`);

    const pushed = await stevedore('push', layout, `${server.host}/app:layout`);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toBe(`${digest}\n`);
    expect(pushed.stderr).toMatch(/^push: 2\/2 blobs/m);
    expect((await stevedore('push', join(scratch, 'dir'), `${server.host}/app:dir`)).stdout).toBe(
      `${digest}\n`,
    );
    expect(
      (await stevedore('push', join(scratch, 'image.oci.tar'), `${server.host}/app:archive`)).stdout,
    ).toBe(`${digest}\n`);
    // A docker-archive keeps layers uncompressed: another manifest, the same config.
    const docker = await stevedore(
      'push',
      '--json',
      join(scratch, 'image.docker.tar'),
      `${server.host}/app:docker`,
    );
    expect(JSON.parse(docker.stdout)).toEqual({
      source: `docker-archive:${join(scratch, 'image.docker.tar')}`,
      destination: `docker://${server.host}/app:docker`,
      digest: expect.stringMatching(/^sha256:/),
    });
    const config = (await stevedore('config', `${server.host}/app:docker`)).stdout;
    expect(config).toBe(new TextDecoder().decode(image.configBytes));
    expect((await stevedore('ls', `${server.host}/app`)).stdout).toBe('archive\ndir\ndocker\nlayout\n');

    // A transport-prefixed PATH is taken as it is.
    await copy(await smallImage('other'), `oci:${layout}:v2`);
    const named = await stevedore('push', `oci:${layout}:v2`, `${server.host}/app:v2`);
    expect(named.code).toBe(0);
    expect((await stevedore('digest', `${server.host}/app:v2`)).stdout).toBe(named.stdout);
    // Two images in the layout: which one?
    const ambiguous = await stevedore('push', layout, `${server.host}/app:which`);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/^stevedore: ERR_AMBIGUOUS_REFERENCE: .*tags: v1, v2/);
  });

  it('pushes every platform of an index with --all, the host’s by default', async () => {
    const amd = await smallImage('amd', 'amd64');
    const arm = await smallImage('arm', 'arm64', 'v8');
    const index = await assembleIndex([amd, arm]);
    const layout = join(scratch, 'multi');
    await copy(index, `oci:${layout}:v1`, { all: true });
    const all = await stevedore('push', '--all', '--quiet', layout, `${server.host}/multi:v1`);
    expect(all).toMatchObject({ code: 0, stdout: `${imageDigest(index)}\n`, stderr: '' });
    const one = await stevedore('push', '--platform', 'linux/arm64', layout, `${server.host}/multi:arm`);
    expect(one.stdout).toBe(`${imageDigest(arm)}\n`);
  });

  it('fails clearly for a missing path or a directory of neither kind, writing nothing', async () => {
    const missing = await stevedore('push', join(scratch, 'nothing'), `${server.host}/app:v1`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stevedore: ERR_CLI_INPUT: .*nothing does not exist\nhint: /);
    await mkdir(join(scratch, 'plain'));
    const plain = await stevedore('push', join(scratch, 'plain'), `${server.host}/app:v1`);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('is a directory but neither an OCI image layout');
    const text = join(scratch, 'notes.txt');
    await writeFile(text, 'not a tar at all');
    const notTar = await stevedore('push', text, `${server.host}/app:v1`);
    expect(notTar.code).toBe(1);
    expect(notTar.stderr).toMatch(/^stevedore: ERR_/);
    expect((await stevedore('ls', `${server.host}/app`)).code).toBe(1); // no repository made
    expect((await stevedore('push', 'only-one')).code).toBe(2);
  });
});

describe('stevedore pull', () => {
  it('pulls into a layout under the tag, beside what is there, and into archives and dir:', async () => {
    const image = await smallImage('pull');
    const digest = imageDigest(image).toString();
    await copy(image, `docker://${server.host}/team/app:v1`);
    const layout = join(scratch, 'layout');
    await copy(await smallImage('already'), `oci:${layout}:old`);

    const pulled = await stevedore('pull', `${server.host}/team/app:v1`, layout);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(`${digest}\n`);
    expect(pulled.stderr).toMatch(/^pull: 2\/2 blobs/m);
    expect((await stevedore('ls', `oci:${layout}`)).stdout).toBe('old\nv1\n');
    expect((await stevedore('digest', `oci:${layout}:v1`)).stdout).toBe(`${digest}\n`);

    const archive = join(scratch, 'app.tar');
    const ociArchive = await stevedore(
      'pull',
      '--json',
      '--format',
      'oci-archive',
      `${server.host}/team/app:v1`,
      archive,
    );
    expect(JSON.parse(ociArchive.stdout)).toEqual({
      source: `docker://${server.host}/team/app:v1`,
      destination: `oci-archive:${archive}:v1`,
      digest,
    });
    expect((await stevedore('digest', `oci-archive:${archive}:v1`)).stdout).toBe(`${digest}\n`);

    const dockerTar = join(scratch, 'docker.tar');
    expect(
      (await stevedore('pull', '--format', 'docker-archive', `${server.host}/team/app:v1`, dockerTar)).code,
    ).toBe(0);
    expect((await stevedore('ls', `docker-archive:${dockerTar}`)).stdout).toBe(
      `${server.host}/team/app:v1\n`,
    );
    expect((await stevedore('config', `docker-archive:${dockerTar}`)).stdout).toBe(
      new TextDecoder().decode(image.configBytes),
    );

    const dir = join(scratch, 'dir');
    expect((await stevedore('pull', '--format', 'dir', `${server.host}/team/app:v1`, dir)).stdout).toBe(
      `${digest}\n`,
    );
    expect((await readdir(dir)).sort()).toContain('version');

    // A transport-prefixed PATH is the destination as it is.
    expect((await stevedore('pull', `${server.host}/team/app:v1`, `oci:${layout}:again`)).code).toBe(0);
    expect((await stevedore('ls', `oci:${layout}`)).stdout).toBe('old\nv1\nagain\n');
  });

  it('pulls every platform of an index with --all into one oci-archive', async () => {
    const index = await assembleIndex([await smallImage('amd', 'amd64'), await smallImage('arm', 'arm64')]);
    await copy(index, `docker://${server.host}/multi:latest`, { all: true });
    const archive = join(scratch, 'multi.tar');
    const pulled = await stevedore(
      'pull',
      '--all',
      '--format',
      'oci-archive',
      `${server.host}/multi`,
      archive,
    );
    expect(pulled.stdout).toBe(`${imageDigest(index)}\n`);
    const read = await readSource(`oci-archive:${archive}:latest`);
    expect(read.kind).toBe('index');
    // Into a docker-archive, an index cannot go: nothing is left behind.
    const docker = join(scratch, 'multi-docker.tar');
    const refused = await stevedore(
      'pull',
      '--all',
      '--format',
      'docker-archive',
      `${server.host}/multi`,
      docker,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('a docker-archive holds single-platform images');
    expect(await stat(docker).catch(() => undefined)).toBeUndefined();
    expect((await readdir(scratch)).filter((name) => name.startsWith('.tmp'))).toEqual([]);
  });

  it('answers a bad --format, or --format with a prefixed PATH, with a usage error', async () => {
    const bad = await stevedore('pull', '--format', 'zip', `${server.host}/app:v1`, join(scratch, 'x'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format takes oci, oci-archive, docker-archive, dir, got "zip"');
    const both = await stevedore('pull', '--format', 'dir', `${server.host}/app:v1`, `oci:${scratch}/x`);
    expect(both.code).toBe(2);
    const colon = await stevedore('pull', `${server.host}/app:v1`, join(scratch, 'a:b'));
    expect(colon.code).toBe(2);
    expect(colon.stderr).toContain('has a ":"');
    const missing = await stevedore('pull', `${server.host}/app:nope`, join(scratch, 'layout'));
    expect(missing.code).toBe(1);
    expect(await stat(join(scratch, 'layout')).catch(() => undefined)).toBeUndefined();
  });
});

describe('pullDestination and pushSource', () => {
  it('name the destination by the tag and reference of the source', () => {
    expect(pullDestination('docker://alpine:3.20', './l', undefined)).toBe('oci:./l:3.20');
    expect(pullDestination('docker://alpine', './l', 'oci-archive')).toBe('oci-archive:./l:latest');
    expect(pullDestination(`docker://alpine@sha256:${'a'.repeat(64)}`, './l', 'oci')).toBe('oci:./l');
    expect(pullDestination('docker://localhost:5000/app:v1', './a.tar', 'docker-archive')).toBe(
      'docker-archive:./a.tar:localhost:5000/app:v1',
    );
    expect(pullDestination('docker://localhost:5000/app', './a.tar', 'docker-archive')).toBe(
      'docker-archive:./a.tar:localhost:5000/app:latest',
    );
    expect(pullDestination('oci:./other:v2', './l', undefined)).toBe('oci:./l:v2');
    expect(pullDestination('docker-archive:./x.tar:app:v3', './l', undefined)).toBe('oci:./l:v3');
    expect(pullDestination('oci:./other:v2', './d', 'dir')).toBe('dir:./d');
  });

  it('tell an oci-archive from a docker-archive by the oci-layout entry alone', async () => {
    const image = await smallImage('tar');
    const oci = join(scratch, 'oci.tar');
    const docker = join(scratch, 'docker.tar');
    await copy(image, `oci-archive:${oci}`);
    await copy(image, `docker-archive:${docker}`);
    expect(await tarHasFile(oci, 'oci-layout')).toBe(true);
    expect(await tarHasFile(docker, 'oci-layout')).toBe(false);
    expect(await tarHasFile(docker, 'manifest.json')).toBe(true);
    expect(await pushSource(oci)).toBe(`oci-archive:${oci}`);
    expect(await pushSource(docker)).toBe(`docker-archive:${docker}`);
    expect(await pushSource(`docker-archive:${oci}`)).toBe(`docker-archive:${oci}`);
    // Not a tar: its headers do not check out.
    const text = join(scratch, 'text');
    await writeFile(text, 'x'.repeat(2048));
    expect(await tarHasFile(text, 'oci-layout')).toBe(false);
    // Long names (PAX headers) skipped over to a last entry.
    const long = `${'d'.repeat(120)}/`;
    const renamed = join(scratch, 'renamed.tar');
    const bytes = await rewriteTar(new Uint8Array(await readFile(docker)), (entry) => ({
      ...entry,
      name: entry.name === 'manifest.json' ? 'oci-layout' : `${long}${entry.name}`,
    }));
    await writeFile(renamed, bytes);
    const entries = await tarLayout(bytes);
    expect(entries.at(-1)?.name).toBe('oci-layout');
    expect(await tarHasFile(renamed, 'oci-layout')).toBe(true);
    expect(await tarHasFile(renamed, 'manifest.json')).toBe(false);
    expect(await tarHasFile(renamed, entries[0]?.name ?? '')).toBe(true);
    expect(entries[0]?.name.startsWith(long)).toBe(true);
    // Cut short before the entry: not found, and no error.
    const cut = join(scratch, 'cut.tar');
    await writeFile(cut, bytes.subarray(0, entries.at(-1)?.headerOffset ?? 0));
    expect(await tarHasFile(cut, 'oci-layout')).toBe(false);
  });
});
