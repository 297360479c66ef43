import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar } from '@stevedore/archive';
import { assembleIndex, readBlob } from '@stevedore/image';
import { fakeImage, readText, tamperedImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDockerArchive, readOciArchive, writeOciArchive } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-oci-archive-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('oci-archive:', () => {
  it('refuses a missing archive, and a directory, with ERR_LAYOUT_INVALID naming the path', async () => {
    const missing = join(root, 'missing.tar');
    await expect(readOciArchive(missing)).rejects.toMatchObject({
      code: 'ERR_LAYOUT_INVALID',
      path: missing,
    });
    await expect(readOciArchive(missing)).rejects.toThrow(
      `cannot read the oci-archive ${missing}: no such file`,
    );
    await expect(readDockerArchive(root)).rejects.toThrow(
      `cannot read the docker-archive ${root}: it is a directory`,
    );
  });

  it('writes a tar of a layout and reads the image back by range', async () => {
    const written = await fakeImage('hello archive');
    const path = join(root, 'new', 'dir', 'image.tar');
    await writeOciArchive(path, written, { tag: 'v1' });
    const names: string[] = [];
    for await (const entry of readTar(new Uint8Array(await readFile(path)))) names.push(entry.name);
    expect(names[0]).toBe('oci-layout');
    expect(names.at(-1)).toBe('index.json');
    expect(names).toContain(`blobs/sha256/${written.manifest.digest.encoded}`);
    expect(await readdir(join(root, 'new', 'dir'))).toEqual(['image.tar']);

    const read = await readOciArchive(path, { tag: 'v1' });
    expect(read.manifest.digest.equals(written.manifest.digest)).toBe(true);
    expect(read.tag).toBe('v1');
    expect(
      read.kind === 'image' &&
        (await readText(await readBlob(read, read.manifest.json.layers[0]?.digest ?? ''))),
    ).toBe('hello archive');
  });

  it('is deterministic and holds indexes', async () => {
    const index = await assembleIndex([await fakeImage('a'), await fakeImage('b', 'arm64')]);
    await writeOciArchive(join(root, 'one.tar'), index);
    await writeOciArchive(join(root, 'two.tar'), index);
    expect(await readFile(join(root, 'one.tar'))).toEqual(await readFile(join(root, 'two.tar')));
    const read = await readOciArchive(join(root, 'one.tar'));
    expect(read.kind === 'index' && read.children.map((child) => child.kind)).toEqual(['image', 'image']);
  });

  it('leaves nothing behind when a blob is not what it says', async () => {
    const { image: bad } = await tamperedImage();
    await expect(writeOciArchive(join(root, 'bad.tar'), bad)).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses compressed and truncated archives with typed errors', async () => {
    const path = join(root, 'image.tar');
    await writeOciArchive(path, await fakeImage('x'));
    const bytes = await readFile(path);
    const { gzipSync } = await import('node:zlib');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(root, 'gz.tar'), gzipSync(bytes));
    await expect(readOciArchive(join(root, 'gz.tar'))).rejects.toMatchObject({ code: 'ERR_LAYOUT_INVALID' });
    // cut inside the second entry's content (the first is oci-layout: one header, one block)
    await writeFile(join(root, 'cut.tar'), bytes.subarray(0, 1024 + 512 + 10));
    await expect(readOciArchive(join(root, 'cut.tar'))).rejects.toMatchObject({ code: 'ERR_TAR_TRUNCATED' });
    // cut after the first entry: a whole archive without index.json
    await writeFile(join(root, 'short.tar'), bytes.subarray(0, 1024));
    await expect(readOciArchive(join(root, 'short.tar'))).rejects.toMatchObject({
      code: 'ERR_LAYOUT_INVALID',
    });
  });
});
