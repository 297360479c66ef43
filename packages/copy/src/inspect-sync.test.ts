import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy, inspect, sync } from './index.ts';

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
