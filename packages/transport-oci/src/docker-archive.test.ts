import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, type TarEntryInput, writeTar } from '@stevedore/archive';
import {
  assembleImage,
  assembleIndex,
  createLayer,
  imageLayers,
  memoryBlobSink,
  readBlob,
} from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { fakeImage, readText, testConfig } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDockerArchive, writeDockerArchive } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-docker-archive-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (name: string, text: string): TarEntryInput => ({
  name,
  type: 'file',
  content: new TextEncoder().encode(text),
});

async function realImage() {
  const layers = [
    await createLayer(writeTar([file('etc/one', 'one')]), { sink: memoryBlobSink }),
    await createLayer(writeTar([file('etc/two', 'two')]), { sink: memoryBlobSink, compression: 'zstd' }),
  ];
  return assembleImage({ ...testConfig, config: { Cmd: ['sh'] } }, layers);
}

describe('docker-archive:', () => {
  it('writes what docker load reads: config, uncompressed layers, manifest.json', async () => {
    const image = await realImage();
    const path = join(root, 'out', 'image.tar');
    await writeDockerArchive(path, image, { tag: 'app:v1' });
    const names: string[] = [];
    let manifest: unknown;
    for await (const entry of readTar(new Uint8Array(await readFile(path)))) {
      names.push(entry.name);
      if (entry.name === 'manifest.json') manifest = JSON.parse(await readText(entry.content));
    }
    const hex = (digest: string) => digest.slice('sha256:'.length);
    const diffIds = image.config.rootfs.diff_ids;
    expect(manifest).toEqual([
      {
        Config: `${hex(image.manifest.json.config.digest)}.json`,
        RepoTags: ['app:v1'],
        Layers: diffIds.map((id) => `${hex(id)}/layer.tar`),
      },
    ]);
    expect(names.at(-1)).toBe('manifest.json');

    const read = await readDockerArchive(path, { tag: 'app:v1' });
    expect(read.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(read.config.rootfs.diff_ids).toEqual(diffIds);
    expect(read.configBytes).toEqual(image.configBytes);
    // uncompressed layers: the blob digest is the diff_id
    expect(imageLayers(read).map((layer) => [layer.descriptor.digest, layer.descriptor.mediaType])).toEqual(
      diffIds.map((id) => [id, MediaTypes.DockerLayer]),
    );
    let text = '';
    for await (const entry of readTar(await readBlob(read, diffIds[1] ?? '')))
      text += await readText(entry.content);
    expect(text).toBe('two');
  });

  it('picks images by tag or index, and says what is there', async () => {
    const image = await realImage();
    const path = join(root, 'image.tar');
    await writeDockerArchive(path, image, { tag: 'app:v1' });
    expect((await readDockerArchive(path)).config.config?.Cmd).toEqual(['sh']);
    expect((await readDockerArchive(path, { index: 0 })).config.config?.Cmd).toEqual(['sh']);
    // Docker's short form and skopeo's full one name the same image
    expect((await readDockerArchive(path, { tag: 'docker.io/library/app:v1' })).config.config?.Cmd).toEqual([
      'sh',
    ]);
    await expect(readDockerArchive(path, { tag: 'app:v2' })).rejects.toMatchObject({
      code: 'ERR_TAG_NOT_FOUND',
      available: ['app:v1'],
    });
    await expect(readDockerArchive(path, { index: 3 })).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND' });
  });

  it('refuses indexes, layers that are not their diff_id, and broken archives', async () => {
    const index = await assembleIndex([await fakeImage('a')]);
    await expect(writeDockerArchive(join(root, 'x.tar'), index)).rejects.toMatchObject({
      code: 'ERR_AMBIGUOUS_REFERENCE',
    });
    // a fake layer's bytes are not a gzip of a tar whose digest is its diff_id
    await expect(writeDockerArchive(join(root, 'y.tar'), await fakeImage('b'))).rejects.toSatisfy(
      (error: { code?: string }) => error.code === 'ERR_DIGEST_MISMATCH' || error.code === 'ERR_TAR_INVALID',
    );
    await writeFile(join(root, 'empty.tar'), new Uint8Array(1024));
    await expect(readDockerArchive(join(root, 'empty.tar'))).rejects.toMatchObject({
      code: 'ERR_LAYOUT_INVALID',
    });
    const image = await realImage();
    await writeDockerArchive(join(root, 'ok.tar'), image);
    const bytes = await readFile(join(root, 'ok.tar'));
    await writeFile(join(root, 'cut.tar'), bytes.subarray(0, 2048 + 100));
    await expect(readDockerArchive(join(root, 'cut.tar'))).rejects.toMatchObject({
      code: 'ERR_TAR_TRUNCATED',
    });
  });
});
