import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, type TarEntryInput, writeTar } from '@stevedore/archive';
import { collectBytes } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  createLayer,
  imageLayers,
  memoryBlobSink,
  readBlob,
} from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { fakeImage, readText, rewriteTar, testConfig } from '@stevedore-internal/test-support';
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

  it('reads compressed layers, named by their blobs/<algorithm>/<encoded> path or hashed', async () => {
    const image = await realImage(); // layer 0 gzip, layer 1 zstd
    const path = join(root, 'image.tar');
    await writeDockerArchive(path, image, { tag: 'app:v1' });
    const [gzip, zstd] = imageLayers(image).map((layer) => layer.descriptor);
    if (gzip === undefined || zstd === undefined) throw new Error('realImage has two layers');
    const blobs = new Map<string, Uint8Array>();
    for (const layer of [gzip, zstd])
      blobs.set(layer.digest, await collectBytes(await readBlob(image, layer.digest)));
    const hex = (digest: string) => digest.slice('sha256:'.length);
    const diffIds = image.config.rootfs.diff_ids;
    // An OCI-embedding archive names the gzip layer by its digest; the zstd one keeps a
    // classic name, so only hashing it tells its digest.
    const names = new Map([
      [
        `${hex(diffIds[0] ?? '')}/layer.tar`,
        { name: `blobs/sha256/${hex(gzip.digest)}`, digest: gzip.digest },
      ],
      [
        `${hex(diffIds[1] ?? '')}/layer.tar`,
        { name: `${hex(diffIds[1] ?? '')}/layer.tar`, digest: zstd.digest },
      ],
    ]);
    const compressed = async (lie = false) =>
      rewriteTar(new Uint8Array(await readFile(path)), (entry) => {
        if (entry.name === 'manifest.json') {
          const [manifest] = JSON.parse(new TextDecoder().decode(entry.content));
          manifest.Layers = manifest.Layers.map((name: string) => names.get(name)?.name ?? name);
          return { ...entry, content: new TextEncoder().encode(JSON.stringify([manifest])) };
        }
        const renamed = names.get(entry.name);
        if (renamed === undefined) return entry;
        // A lying archive: the zstd layer's bytes under the gzip layer's digest.
        const content = blobs.get(lie && renamed.digest === gzip.digest ? zstd.digest : renamed.digest);
        return { ...entry, name: renamed.name, ...(content && { content }) };
      });
    await writeFile(join(root, 'compressed.tar'), await compressed());

    // Docker schema 2 has no zstd layer type: described as OCI.
    const format = 'oci';
    const read = await readDockerArchive(join(root, 'compressed.tar'), {
      format,
      signal: new AbortController().signal,
    });
    expect(read.config.rootfs.diff_ids).toEqual(diffIds);
    expect(imageLayers(read).map(({ descriptor, diffId }) => [descriptor, diffId])).toEqual([
      [{ mediaType: MediaTypes.OciLayerGzip, digest: gzip.digest, size: gzip.size }, diffIds[0]],
      [{ mediaType: MediaTypes.OciLayerZstd, digest: zstd.digest, size: zstd.size }, diffIds[1]],
    ]);
    expect(await collectBytes(await readBlob(read, gzip.digest))).toEqual(blobs.get(gzip.digest));
    expect(await collectBytes(await readBlob(read, zstd.digest))).toEqual(blobs.get(zstd.digest));

    // A layer named by a digest its bytes do not hash to fails as it streams.
    await writeFile(join(root, 'lying.tar'), await compressed(true));
    const lying = await readDockerArchive(join(root, 'lying.tar'), { format });
    const [named] = imageLayers(lying);
    expect(named?.descriptor.digest).toBe(gzip.digest);
    await expect(readBlob(lying, gzip.digest).then(collectBytes)).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });

    const aborted = AbortSignal.abort(new Error('stopped by the test'));
    await expect(
      readDockerArchive(join(root, 'compressed.tar'), { format, signal: aborted }),
    ).rejects.toThrow('stopped by the test');
  });
});
