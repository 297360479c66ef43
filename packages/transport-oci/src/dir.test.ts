import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  type Image,
  type Layer,
  memoryBlobSource,
  readBlob,
} from '@stevedore/image';
import { type ImageConfig, MediaTypes } from '@stevedore/manifest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDir, writeDir } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-dir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const encoder = new TextEncoder();
const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };

async function layer(text: string, bytes = encoder.encode(text)): Promise<Layer> {
  const digest = (await computeDigest(encoder.encode(text))).toString();
  return {
    descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: bytes.byteLength },
    diffId: (await computeDigest(encoder.encode(`diff ${text}`))).toString(),
    blobs: memoryBlobSource({ [digest]: bytes }),
  };
}
const image = async (text: string, architecture = 'amd64'): Promise<Image> =>
  assembleImage({ ...config, architecture }, [await layer(text)]);

async function collect(stream: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  return text;
}

describe('dir: transport', () => {
  it('writes version, manifest.json and blobs by hex digest, and reads them back', async () => {
    const written = await image('hello');
    const dir = join(root, 'image');
    await writeDir(dir, written);
    const hex = (digest: string) => digest.slice('sha256:'.length);
    expect((await readdir(dir)).sort()).toEqual(
      [
        'manifest.json',
        'version',
        hex(written.manifest.json.config.digest),
        hex(written.manifest.json.layers[0]?.digest ?? ''),
      ].sort(),
    );
    expect(await readFile(join(dir, 'version'), 'utf8')).toBe('Directory Transport Version: 1.1\n');
    expect(new Uint8Array(await readFile(join(dir, 'manifest.json')))).toEqual(written.manifest.raw);
    const read = await readDir(dir);
    expect(read.manifest.digest.equals(written.manifest.digest)).toBe(true);
    expect(
      read.kind === 'image' &&
        (await collect(await readBlob(read, read.manifest.json.layers[0]?.digest ?? ''))),
    ).toBe('hello');
  });

  it('writes an index with its manifests as <hex>.manifest.json', async () => {
    const a = await image('a');
    const b = await image('b', 'arm64');
    const index = await assembleIndex([a, b]);
    const dir = join(root, 'index');
    await writeDir(dir, index);
    const names = await readdir(dir);
    expect(names).toContain(`${a.manifest.digest.encoded}.manifest.json`);
    expect(names).toContain(`${b.manifest.digest.encoded}.manifest.json`);
    const read = await readDir(dir);
    expect(read.kind === 'index' && read.children.map((child) => child.manifest.digest.toString())).toEqual([
      a.manifest.digest.toString(),
      b.manifest.digest.toString(),
    ]);
  });

  it('replaces an earlier dir: image, and refuses a directory that holds something else', async () => {
    const dir = join(root, 'again');
    await writeDir(dir, await image('first'));
    const second = await image('second');
    await writeDir(dir, second);
    expect((await readDir(dir)).manifest.digest.equals(second.manifest.digest)).toBe(true);
    expect(await readdir(dir)).toHaveLength(4);

    const other = join(root, 'other');
    await mkdir(other);
    await writeFile(join(other, 'precious.txt'), 'keep me');
    await expect(writeDir(other, second)).rejects.toMatchObject({ code: 'ERR_LAYOUT_INVALID' });
    expect(await readFile(join(other, 'precious.txt'), 'utf8')).toBe('keep me');
    await expect(readDir(other)).rejects.toMatchObject({ code: 'ERR_LAYOUT_INVALID' });
  });

  it('leaves no blob under a digest when the bytes are wrong', async () => {
    const good = await layer('good');
    const bad = await assembleImage(config, [
      { ...good, blobs: memoryBlobSource({ [good.descriptor.digest]: encoder.encode('evil') }) },
    ]);
    const dir = join(root, 'bad');
    await expect(writeDir(dir, bad)).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(
      (await readdir(dir)).filter(
        (name) => name !== 'version' && !name.startsWith(bad.manifest.json.config.digest.slice(7)),
      ),
    ).toEqual([]);
  });
});
