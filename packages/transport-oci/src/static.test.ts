import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex, readBlob } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { fakeImage, readText, tamperedImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStatic, STATIC_CONTENT_TYPES, STATIC_NGINX_CONF, writeStatic } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-static-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('static:', () => {
  it('writes a registry file tree with tags, content types and an nginx snippet', async () => {
    const image = await fakeImage('static');
    await writeStatic(root, image, { name: 'team/app', tag: 'v1' });
    await writeStatic(root, image, { name: 'team/app', tag: 'latest' });
    const base = join(root, 'v2', 'team', 'app');
    const digest = image.manifest.digest.toString();
    expect(new Uint8Array(await readFile(join(base, 'manifests', 'v1')))).toEqual(image.manifest.raw);
    expect(new Uint8Array(await readFile(join(base, 'manifests', digest)))).toEqual(image.manifest.raw);
    expect(await readText(await readBlob(image, image.manifest.json.layers[0]?.digest ?? ''))).toBe(
      await readFile(join(base, 'blobs', image.manifest.json.layers[0]?.digest ?? ''), 'utf8'),
    );
    expect(JSON.parse(await readFile(join(base, 'tags', 'list'), 'utf8'))).toEqual({
      name: 'team/app',
      tags: ['latest', 'v1'],
    });
    const types = JSON.parse(await readFile(join(root, STATIC_CONTENT_TYPES), 'utf8'));
    expect(types['/v2/team/app/manifests/v1']).toBe(MediaTypes.OciManifest);
    expect(types[`/v2/team/app/blobs/${image.manifest.json.config.digest}`]).toBe('application/octet-stream');
    expect(types['/v2/team/app/tags/list']).toBe('application/json');
    const nginx = await readFile(join(root, STATIC_NGINX_CONF), 'utf8');
    expect(nginx).toContain(
      `location = /v2/team/app/manifests/${digest} { default_type ${MediaTypes.OciManifest};`,
    );

    const read = await readStatic(root, { name: 'team/app', tag: 'v1' });
    expect(read.manifest.digest.equals(image.manifest.digest)).toBe(true);
    expect((await readStatic(root, { name: 'team/app', digest })).kind).toBe('image');
  });

  it('holds indexes and refuses bad names, missing tags and bad blobs', async () => {
    const index = await assembleIndex([await fakeImage('a'), await fakeImage('b', 'arm64')]);
    await writeStatic(root, index, { name: 'multi' });
    const read = await readStatic(root, { name: 'multi' });
    expect(read.kind === 'index' && read.children).toHaveLength(2);
    await expect(writeStatic(root, index, { name: 'Bad Name' })).rejects.toMatchObject({
      code: 'ERR_TAG_INVALID',
    });
    await expect(readStatic(root, { name: 'multi', tag: 'nope' })).rejects.toMatchObject({
      code: 'ERR_TAG_NOT_FOUND',
    });
    const { image: bad, layer } = await tamperedImage();
    await expect(writeStatic(root, bad, { name: 'bad' })).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
    await expect(readFile(join(root, 'v2', 'bad', 'blobs', layer.descriptor.digest))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('reads a manifest by digest only when its bytes hash to it, and only a digest', async () => {
    const [one, two] = [await fakeImage('one'), await fakeImage('two')];
    await writeStatic(root, one, { name: 'app', tag: 'one' });
    await writeStatic(root, two, { name: 'app', tag: 'two' });
    const manifests = join(root, 'v2', 'app', 'manifests');
    const digest = one.manifest.digest.toString();
    expect((await readStatic(root, { name: 'app', digest })).manifest.raw).toEqual(one.manifest.raw);

    // Another manifest under this digest: refused, not read as this image.
    await copyFile(join(manifests, two.manifest.digest.toString()), join(manifests, digest));
    await expect(readStatic(root, { name: 'app', digest })).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
    // A "digest" that walks out of the manifests folder, to a manifest placed there.
    await copyFile(join(manifests, 'two'), join(root, 'v2', 'app', 'outside'));
    for (const path of ['../outside', 'sha256:../outside', `sha256:${'0'.repeat(64)}/../../outside`]) {
      await expect(readStatic(root, { name: 'app', digest: path })).rejects.toMatchObject({
        code: 'ERR_DIGEST_INVALID',
      });
    }
    await expect(readStatic(root, { name: 'app', digest: `sha256:${'0'.repeat(64)}` })).rejects.toMatchObject(
      {
        code: 'ERR_TAG_NOT_FOUND',
        reference: `sha256:${'0'.repeat(64)}`,
      },
    );
  });
});
