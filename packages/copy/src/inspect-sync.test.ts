import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy, deleteImage, inspect, listTags, sync } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-inspect-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('inspect', () => {
  it('describes an index, or the image of one of its platforms', async () => {
    const amd = await smallImage('amd', 'amd64');
    const arm = await smallImage('arm', 'arm64', 'v8');
    const index = await assembleIndex([amd, arm]);
    const layout = `oci:${join(root, 'layout')}:multi`;
    await copy(index, layout, { all: true });
    const described = await inspect(layout);
    expect(described).toMatchObject({
      digest: index.manifest.digest.toString(),
      mediaType: MediaTypes.OciIndex,
      tag: 'multi',
    });
    expect(described.platforms).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(described.manifest.raw).toEqual(index.manifest.raw);
    const armOnly = await inspect(layout, { platform: 'linux/arm64' });
    expect(armOnly.digest).toBe(arm.manifest.digest.toString());
    expect(armOnly.config?.architecture).toBe('arm64');
  });
});

describe('sync', () => {
  it('runs every job, reporting each, and goes on after a failure', async () => {
    const image = await smallImage('app');
    const results = await sync([
      { source: image, destination: `oci:${join(root, 'a')}:v1` },
      { source: `oci:${join(root, 'missing')}:v1`, destination: `dir:${join(root, 'b')}` },
      { source: `oci:${join(root, 'a')}:v1`, destination: `dir:${join(root, 'c')}` },
    ]);
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[0]?.ok === true && results[0].digest).toBe(image.manifest.digest.toString());
    expect(results[1]?.ok === false && (results[1].error as { code?: string }).code).toBe(
      'ERR_LAYOUT_INVALID',
    );
    expect((await inspect(`dir:${join(root, 'c')}`)).digest).toBe(image.manifest.digest.toString());
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      sync([{ source: await smallImage('x'), destination: `dir:${join(root, 'x')}` }], {
        signal: controller.signal,
      }),
    ).rejects.toThrow('stop');
  });
});

describe('listTags', () => {
  it('lists the tags of every transport that has them', async () => {
    const image = await smallImage('app');
    for (const tag of ['v2', 'v1']) {
      await copy(image, `oci:${join(root, 'layout')}:${tag}`);
      await copy(image, `static:${join(root, 'site')}:team/app:${tag}`);
    }
    await copy(image, `oci-archive:${join(root, 'a.tar')}:only`);
    await copy(image, `docker-archive:${join(root, 'd.tar')}:app:v9`);
    expect(await listTags(`oci:${join(root, 'layout')}`)).toEqual(['v2', 'v1']);
    expect(await listTags(`static:${join(root, 'site')}:team/app`)).toEqual(['v1', 'v2']);
    expect(await listTags(`oci-archive:${join(root, 'a.tar')}`)).toEqual(['only']);
    expect(await listTags(`docker-archive:${join(root, 'd.tar')}`)).toEqual(['app:v9']);
    await expect(listTags(`dir:${join(root, 'x')}`)).rejects.toMatchObject({ code: 'ERR_ENDPOINT_INVALID' });
    await expect(listTags(`static:${join(root, 'site')}:other`)).rejects.toMatchObject({
      code: 'ERR_TAG_NOT_FOUND',
    });
  });
});

describe('every verb', () => {
  it.each([null, 42, {}])('refuses %s as an endpoint with ERR_ENDPOINT_INVALID', async (value) => {
    const endpoint = value as never;
    const invalid = { code: 'ERR_ENDPOINT_INVALID' };
    await expect(listTags(endpoint)).rejects.toMatchObject(invalid);
    await expect(deleteImage(endpoint)).rejects.toMatchObject(invalid);
    await expect(copy(endpoint, `oci:${join(root, 'out')}`)).rejects.toMatchObject(invalid);
    await expect(copy(await smallImage('app'), endpoint)).rejects.toMatchObject(invalid);
  });
});

describe('deleteImage', () => {
  it('removes a tag or a digest from a layout, and refuses other transports', async () => {
    const image = await smallImage('app');
    const other = await smallImage('other');
    const layout = join(root, 'layout');
    await copy(image, `oci:${layout}:a`);
    await copy(image, `oci:${layout}:b`);
    await copy(other, `oci:${layout}:c`);
    await deleteImage(`oci:${layout}:a`);
    expect(await listTags(`oci:${layout}`)).toEqual(['b', 'c']);
    await deleteImage(`oci:${layout}`, { digest: image.manifest.digest.toString() });
    expect(await listTags(`oci:${layout}`)).toEqual(['c']);
    await expect(deleteImage(`oci:${layout}:zzz`)).rejects.toMatchObject({
      code: 'ERR_TAG_NOT_FOUND',
      available: ['c'],
    });
    await expect(deleteImage(`oci:${layout}`)).rejects.toMatchObject({ code: 'ERR_ENDPOINT_INVALID' });
    await expect(deleteImage(`dir:${join(root, 'd')}`)).rejects.toMatchObject({
      code: 'ERR_ENDPOINT_INVALID',
    });
  });
});
