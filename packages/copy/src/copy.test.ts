import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex } from '@stevedore/image';
import { hostPlatform, MediaTypes } from '@stevedore/manifest';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy, readSource } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-copy-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const endpoints = (dir: string) => ({
  oci: `oci:${join(dir, 'layout')}:v1`,
  'oci-archive': `oci-archive:${join(dir, 'image.tar')}:v1`,
  dir: `dir:${join(dir, 'dir')}`,
  static: `static:${join(dir, 'site')}:team/app:v1`,
  'docker-archive': `docker-archive:${join(dir, 'docker.tar')}:app:v1`,
});

describe('copy between the local transports', () => {
  const kinds = ['oci', 'oci-archive', 'dir', 'static'] as const;
  for (const from of kinds) {
    for (const to of kinds) {
      it(`${from} → ${to} keeps the digest`, async () => {
        const image = await smallImage('app', 'amd64');
        const where = endpoints(root);
        await copy(image, where[from]);
        const target = to === from ? endpoints(join(root, 'again'))[to] : where[to];
        const result = await copy(where[from], target);
        expect(result.digest).toBe(image.manifest.digest.toString());
        expect((await readSource(target)).manifest.digest.toString()).toBe(image.manifest.digest.toString());
      });
    }
  }

  it('to and from docker-archive keeps the diff_ids and config (layers are stored uncompressed)', async () => {
    const image = await smallImage('app', 'amd64');
    const where = endpoints(root);
    await copy(image, where['docker-archive']);
    await copy(where['docker-archive'], where.oci);
    const read = await readSource(where.oci);
    expect(read.kind === 'image' && read.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    expect(read.kind === 'image' && read.configBytes).toEqual(image.configBytes);
    // The archive holds no manifest: bound for an OCI layout, the image is described as OCI.
    expect(read.manifest.mediaType).toBe(MediaTypes.OciManifest);
    await copy(where['docker-archive'], where.dir);
    expect((await readSource(where.dir)).manifest.mediaType).toBe(MediaTypes.DockerManifest);
  });
});

describe('copy of an index', () => {
  async function index() {
    return assembleIndex([
      await smallImage('amd', 'amd64'),
      await smallImage('arm', 'arm64', 'v8'),
      await smallImage('s390x', 's390x'),
    ]);
  }

  it('copies the host platform by default, one platform, a subset, or all', async () => {
    const source = await index();
    const host = hostPlatform();
    const hostChild = source.children.find(
      (child) => child.kind === 'image' && child.config.architecture === host.architecture,
    );
    if (hostChild !== undefined) {
      expect((await copy(source, `oci:${join(root, 'host')}:x`)).digest).toBe(
        hostChild.manifest.digest.toString(),
      );
    }
    const arm = await copy(source, `oci:${join(root, 'one')}:x`, { platform: 'linux/arm64' });
    expect(arm.digest).toBe(source.children[1]?.manifest.digest.toString());

    const subset = await copy(source, `oci:${join(root, 'subset')}:x`, {
      platforms: ['linux/amd64', 'linux/s390x'],
    });
    const written = await readSource(`oci:${join(root, 'subset')}:x`);
    expect(written.manifest.digest.toString()).toBe(subset.digest);
    expect(
      written.kind === 'index' && written.children.map((child) => child.manifest.digest.toString()),
    ).toEqual([
      source.children[0]?.manifest.digest.toString(),
      source.children[2]?.manifest.digest.toString(),
    ]);

    const all = await copy(source, `oci-archive:${join(root, 'all.tar')}:x`, { all: true });
    expect(all.digest).toBe(source.manifest.digest.toString());
    await expect(
      copy(source, `dir:${join(root, 'none')}`, { platform: 'windows/amd64' }),
    ).rejects.toMatchObject({
      code: 'ERR_NO_MATCH',
    });
    await expect(
      copy(source, `dir:${join(root, 'none2')}`, { platforms: ['linux/ppc64le'] }),
    ).rejects.toMatchObject({
      code: 'ERR_NO_MATCH',
    });
  });
});
