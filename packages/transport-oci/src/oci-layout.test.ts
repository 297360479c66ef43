import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '@stevedore/digest';
import { assembleImage, assembleIndex, type Layer, memoryBlobSource, readBlob } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { fakeImage, fakeLayer, readText, testConfig } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blobPath,
  openOciLayoutBlobSink,
  openOciLayoutDestination,
  readOciLayout,
  writeOciLayout,
} from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-layout-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const encoder = new TextEncoder();

async function indexJson(): Promise<{
  manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
}> {
  return JSON.parse(await readFile(join(root, 'index.json'), 'utf8'));
}

describe('writeOciLayout and readOciLayout', () => {
  it('writes oci-layout, index.json and blobs, and reads the image back', async () => {
    const written = await fakeImage('hello');
    await writeOciLayout(root, written, { tag: 'v1' });
    expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    expect((await indexJson()).manifests).toEqual([
      {
        mediaType: MediaTypes.OciManifest,
        digest: written.manifest.digest.toString(),
        size: written.manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': 'v1' },
      },
    ]);
    expect(await readFile(blobPath(root, written.manifest.digest.toString()))).toEqual(
      Buffer.from(written.manifest.raw),
    );
    // no temporary files left behind
    expect((await readdir(root)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);

    const read = await readOciLayout(root, { tag: 'v1' });
    expect(read.kind).toBe('image');
    expect(read.manifest.digest.equals(written.manifest.digest)).toBe(true);
    expect(read.tag).toBe('v1');
    if (read.kind !== 'image') return;
    expect(read.config).toEqual(written.config);
    const layerDigest = read.manifest.json.layers[0]?.digest ?? '';
    expect(await readText(await readBlob(read, layerDigest))).toBe('hello');
  });

  it('keeps many images and tags in one layout, and moves a tag that is written again', async () => {
    const a = await fakeImage('a');
    const b = await fakeImage('b');
    await writeOciLayout(root, a, { tag: 'a' });
    await writeOciLayout(root, b, { tag: 'b' });
    await writeOciLayout(root, b, { tag: 'latest' });
    await writeOciLayout(root, a, { tag: 'latest' });
    const tags = (await indexJson()).manifests.map((entry) => [
      entry.annotations?.['org.opencontainers.image.ref.name'],
      entry.digest,
    ]);
    expect(tags).toEqual([
      ['a', a.manifest.digest.toString()],
      ['b', b.manifest.digest.toString()],
      ['latest', a.manifest.digest.toString()],
    ]);
    expect((await readOciLayout(root, { tag: 'latest' })).manifest.digest.equals(a.manifest.digest)).toBe(
      true,
    );
    await expect(readOciLayout(root)).rejects.toMatchObject({
      code: 'ERR_AMBIGUOUS_REFERENCE',
      available: ['a', 'b', 'latest'],
    });
    await expect(readOciLayout(root, { tag: 'nope' })).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND' });
    // by digest, listed or not
    expect((await readOciLayout(root, { digest: b.manifest.digest.toString() })).kind).toBe('image');
  });

  it('writes an index with its children and reads it back by its only entry', async () => {
    const index = await assembleIndex([await fakeImage('x', 'amd64'), await fakeImage('y', 'arm64')]);
    await writeOciLayout(root, index);
    expect((await indexJson()).manifests).toHaveLength(1);
    const read = await readOciLayout(root);
    expect(read.kind).toBe('index');
    expect(read.kind === 'index' && read.children.map((child) => child.kind)).toEqual(['image', 'image']);
  });

  it('does not rewrite blobs that exist', async () => {
    const written = await fakeImage('same');
    await writeOciLayout(root, written, { tag: 'one' });
    const path = blobPath(root, written.manifest.json.layers[0]?.digest ?? '');
    const before = await stat(path);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeOciLayout(root, written, { tag: 'two' });
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
  });

  it('leaves nothing under a digest when a blob is not what its descriptor says', async () => {
    const good = await fakeLayer('good');
    const bad: Layer = {
      ...good,
      blobs: memoryBlobSource({ [good.descriptor.digest]: encoder.encode('evil') }),
    };
    const tampered = await assembleImage(testConfig, [bad]);
    await expect(writeOciLayout(root, tampered, { tag: 'x' })).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
    await expect(stat(blobPath(root, good.descriptor.digest))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(root)).filter((name) => name.startsWith('.tmp'))).toEqual([]);
    // and the layout's index lists nothing
    expect((await indexJson()).manifests).toEqual([]);
  });

  it('the destination verifies streams itself, not trusting its caller', async () => {
    const destination = await openOciLayoutDestination(root);
    const descriptor = {
      mediaType: 'application/octet-stream',
      digest: (await computeDigest(encoder.encode('ok'))).toString(),
      size: 2,
    };
    await expect(
      destination.putBlob(
        descriptor,
        (async function* () {
          yield encoder.encode('no');
        })(),
      ),
    ).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await expect(stat(blobPath(root, descriptor.digest))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses invalid tags and directories that are not layouts', async () => {
    await expect(writeOciLayout(root, await fakeImage('t'), { tag: 'bad tag' })).rejects.toMatchObject({
      code: 'ERR_TAG_INVALID',
    });
    await expect(readOciLayout(join(root, 'missing'))).rejects.toMatchObject({ code: 'ERR_LAYOUT_INVALID' });
    await writeFile(join(root, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expect(readOciLayout(root)).rejects.toMatchObject({ code: 'ERR_LAYOUT_INVALID' });
    await expect(writeOciLayout(root, await fakeImage('t'), { tag: 'ok' })).rejects.toMatchObject({
      code: 'ERR_LAYOUT_INVALID',
    });
  });

  it('takes blobs written straight into it by a blob sink, and then copies nothing', async () => {
    const sink = await openOciLayoutBlobSink(root);
    const writer = await sink.create();
    const bytes = encoder.encode('layer bytes written in pieces');
    for (let offset = 0; offset < bytes.length; offset += 7)
      await writer.write(bytes.subarray(offset, offset + 7));
    const digest = (await computeDigest(bytes)).toString();
    const blobs = await writer.commit(digest);
    const path = blobPath(root, digest);
    expect(await readFile(path)).toEqual(Buffer.from(bytes));
    const before = await stat(path);
    const built = await assembleImage(testConfig, [
      {
        descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: bytes.length },
        diffId: (await computeDigest(encoder.encode('diff'))).toString(),
        blobs,
      },
    ]);
    await writeOciLayout(root, built, { tag: 'sunk' });
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect((await readOciLayout(root, { tag: 'sunk' })).manifest.digest.equals(built.manifest.digest)).toBe(
      true,
    );
    // an aborted blob leaves nothing behind
    const aborted = await sink.create();
    await aborted.write(encoder.encode('never mind'));
    await aborted.abort();
    expect((await readdir(root)).filter((name) => name.startsWith('.tmp'))).toEqual([]);
  });
});
