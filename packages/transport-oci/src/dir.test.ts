import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex, readBlob } from '@stevedore/image';
import { fakeImage, readText, tamperedImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDir, writeDir } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-dir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('dir: transport', () => {
  it('replaces an image only when the new one is whole: a failed write leaves the old one', async () => {
    const dir = join(root, 'image');
    const old = await fakeImage('old');
    await writeDir(dir, old);
    const { image: bad } = await tamperedImage();
    await expect(writeDir(dir, bad)).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    const still = await readDir(dir);
    expect(still.manifest.digest.equals(old.manifest.digest)).toBe(true);
    expect(
      still.kind === 'image' &&
        (await readText(await readBlob(still, old.manifest.json.layers[0]?.digest ?? ''))),
    ).toBe('old');

    const next = await fakeImage('next');
    await writeDir(dir, next);
    const hex = (digest: string) => digest.slice('sha256:'.length);
    // the old image's layer is gone; the config both share is kept
    expect((await readdir(dir)).sort()).toEqual(
      [
        'manifest.json',
        'version',
        hex(next.manifest.json.config.digest),
        hex(next.manifest.json.layers[0]?.digest ?? ''),
      ].sort(),
    );
    expect((await readDir(dir)).manifest.digest.equals(next.manifest.digest)).toBe(true);
  });

  it('writes version, manifest.json and blobs by hex digest, and reads them back', async () => {
    const written = await fakeImage('hello');
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
        (await readText(await readBlob(read, read.manifest.json.layers[0]?.digest ?? ''))),
    ).toBe('hello');
  });

  it('writes an index with its manifests as <hex>.manifest.json', async () => {
    const a = await fakeImage('a');
    const b = await fakeImage('b', 'arm64');
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
    await writeDir(dir, await fakeImage('first'));
    const second = await fakeImage('second');
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
    const { image: bad } = await tamperedImage();
    const dir = join(root, 'bad');
    await expect(writeDir(dir, bad)).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(
      (await readdir(dir)).filter(
        (name) => name !== 'version' && !name.startsWith(bad.manifest.json.config.digest.slice(7)),
      ),
    ).toEqual([]);
  });
});
