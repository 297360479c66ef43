import { computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  type BlobSource,
  type Image,
  ImageError,
  type Index,
  imageLayers,
  type Layer,
  memoryBlobSource,
} from '@stevedore/image';
import { type ImageConfig, MediaTypes } from '@stevedore/manifest';
import { describe, expect, it } from 'vitest';
import { MutateError, mutateAnnotations, mutateConfig, rebase, retag } from './index.ts';

const encoder = new TextEncoder();

async function layer(text: string): Promise<Layer> {
  const bytes = encoder.encode(`blob ${text}`);
  const digest = (await computeDigest(bytes)).toString();
  return {
    descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: bytes.length },
    diffId: (await computeDigest(encoder.encode(`tar ${text}`))).toString(),
    blobs: memoryBlobSource({ [digest]: bytes }),
  };
}

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['A=1'], Cmd: ['sh'], Labels: { keep: 'yes', change: 'old' } },
  rootfs: { type: 'layers', diff_ids: [] },
  history: [{ created_by: 'base layer' }],
};

async function image(
  texts: string[],
  overrides: Partial<ImageConfig> = {},
  format: 'oci' | 'docker' = 'oci',
) {
  return assembleImage({ ...config, ...overrides }, await Promise.all(texts.map(layer)), {
    format,
    ...(format === 'oci' ? { annotations: { 'org.example': 'x' } } : {}),
  });
}

const layerDigests = (value: Image) => imageLayers(value).map((entry) => entry.descriptor.digest);

describe('mutateConfig', () => {
  it('replaces runtime settings, merges labels, keeps layers and annotations', async () => {
    const before = await image(['a', 'b']);
    const after = await mutateConfig(before, {
      entrypoint: ['/app'],
      env: { B: '2' },
      labels: { change: 'new', added: '1' },
    });
    expect(after.config.config).toEqual({
      Env: ['B=2'],
      Cmd: ['sh'],
      Entrypoint: ['/app'],
      Labels: { keep: 'yes', change: 'new', added: '1' },
    });
    expect(layerDigests(after)).toEqual(layerDigests(before));
    expect(after.manifest.json.annotations).toEqual({ 'org.example': 'x' });
    expect(after.manifest.json.config.digest).not.toBe(before.manifest.json.config.digest);
    expect(after.config.history).toEqual(before.config.history);
  });

  it('takes a function of the config and keeps the Docker format', async () => {
    const before = await image(['a'], {}, 'docker');
    const after = await mutateConfig(before, (current) => ({
      ...current,
      config: { ...current.config, User: 'nobody' },
    }));
    expect(after.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(after.config.config?.User).toBe('nobody');
  });
});

describe('mutateAnnotations', () => {
  it('merges and removes manifest annotations without touching the config', async () => {
    const before = await image(['a']);
    const after = await mutateAnnotations(before, { 'org.example': undefined, added: 'y' });
    expect(after.manifest.json.annotations).toEqual({ added: 'y' });
    expect(after.manifest.json.config).toEqual(before.manifest.json.config);
    expect(after.manifest.digest.equals(before.manifest.digest)).toBe(false);
  });

  it('refuses Docker images, which have no annotations', async () => {
    await expect(mutateAnnotations(await image(['a'], {}, 'docker'), { a: 'b' })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    });
  });
});

describe('retag', () => {
  it('changes the tag and nothing else', async () => {
    const before = await image(['a']);
    const after = retag(before, 'v2');
    expect(after.tag).toBe('v2');
    expect(after.manifest).toBe(before.manifest);
    expect(() => retag(before, '')).toThrow(TypeError);
  });
});

describe('rebase', () => {
  it('swaps the base layers and history, keeping the layers above and the config', async () => {
    const oldBase = await image(['os-1'], { history: [{ created_by: 'old os' }] });
    const newBase = await image(['os-2a', 'os-2b'], {
      history: [{ created_by: 'new os a' }, { created_by: 'new os b' }],
    });
    const app = await assembleImage(
      { ...config, history: [{ created_by: 'old os' }, { created_by: 'add app' }] },
      [...imageLayers(oldBase), await layer('app')],
      { annotations: { 'org.opencontainers.image.base.digest': oldBase.manifest.digest.toString() } },
    );
    const rebased = await rebase(app, oldBase, newBase);
    expect(layerDigests(rebased)).toEqual([...layerDigests(newBase), layerDigests(app)[1]]);
    expect(rebased.config.history?.map((entry) => entry.created_by)).toEqual([
      'new os a',
      'new os b',
      'add app',
    ]);
    expect(rebased.config.config?.Env).toEqual(['A=1']);
    expect(rebased.manifest.json.annotations?.['org.opencontainers.image.base.digest']).toBe(
      newBase.manifest.digest.toString(),
    );
  });

  it('fails with ERR_BASE_MISMATCH naming the first layer that differs', async () => {
    const oldBase = await image(['os-1', 'os-1b']);
    const app = await image(['os-1', 'other', 'app']);
    try {
      await rebase(app, oldBase, await image(['os-2']));
      expect.unreachable();
    } catch (error) {
      expect(MutateError.is(error, 'ERR_BASE_MISMATCH')).toBe(true);
      expect((error as MutateError).layer).toBe(1);
      expect((error as MutateError).expected).toBe(imageLayers(oldBase)[1]?.diffId);
    }
    await expect(rebase(await image([]), oldBase, await image(['x']))).rejects.toMatchObject({
      code: 'ERR_BASE_MISMATCH',
      layer: 0,
    });
  });
});

describe('per platform in an index', () => {
  async function twoPlatforms(): Promise<{ index: Index; amd: Image; arm: Image }> {
    const amd = await image(['amd']);
    const arm = await image(['arm'], { architecture: 'arm64', variant: 'v8' });
    const index = await assembleIndex([amd, arm], {
      annotations: { 'org.index': 'kept' },
      entries: [{ annotations: { 'entry.note': 'amd' } }, undefined],
    });
    return { index, amd, arm };
  }

  it('changes only the images of the platforms asked for, rewriting the index', async () => {
    const { index, amd, arm } = await twoPlatforms();
    const changed = await mutateConfig(index, { cmd: ['new'] }, { platforms: ['linux/arm64'] });
    expect(changed.kind).toBe('index');
    const [newAmd, newArm] = changed.children;
    expect(newAmd?.manifest.digest.equals(amd.manifest.digest)).toBe(true);
    expect(newArm?.manifest.digest.equals(arm.manifest.digest)).toBe(false);
    expect(newArm?.kind === 'image' && newArm.config.config?.Cmd).toEqual(['new']);
    expect(changed.manifest.json.annotations).toEqual({ 'org.index': 'kept' });
    expect(changed.manifest.json.manifests[0]?.annotations).toEqual({ 'entry.note': 'amd' });
    expect(changed.manifest.json.manifests[1]).toMatchObject({
      digest: newArm?.manifest.digest.toString(),
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const all = await mutateConfig(index, { cmd: ['x'] }, { platforms: 'all' });
    expect(
      all.children.every((child) => child.kind === 'image' && child.config.config?.Cmd?.[0] === 'x'),
    ).toBe(true);
  });

  it('asks for platforms, and fails when none match', async () => {
    const { index } = await twoPlatforms();
    await expect(mutateConfig(index, { cmd: ['x'] }, {})).rejects.toMatchObject({ code: 'ERR_NO_MATCH' });
    await expect(mutateConfig(index, { cmd: ['x'] }, { platforms: ['linux/s390x'] })).rejects.toMatchObject({
      code: 'ERR_NO_MATCH',
    });
  });

  it('refuses annotations on a Docker manifest list as on a Docker image, and removes none there', async () => {
    const list = await assembleIndex([await image(['a'], {}, 'docker')], { format: 'docker' });
    const annotating = mutateAnnotations(list, { a: 'b' });
    await expect(annotating).rejects.toThrow(ImageError);
    await expect(annotating).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' });
    const unchanged = await mutateAnnotations(list, { a: undefined });
    expect(unchanged.manifest.digest.equals(list.manifest.digest)).toBe(true);
  });

  it('changes the index annotations themselves when no platforms are named', async () => {
    const { index } = await twoPlatforms();
    const changed = await mutateAnnotations(index, { 'org.index': 'changed' });
    expect(changed.manifest.json.annotations).toEqual({ 'org.index': 'changed' });
    expect(changed.manifest.json.manifests.map((entry) => entry.digest)).toEqual(
      index.manifest.json.manifests.map((entry) => entry.digest),
    );
  });
});

describe('unchanged layers are never read', () => {
  it('by mutateConfig, mutateAnnotations, rebase and retag', async () => {
    let opens = 0;
    const blobs: BlobSource = {
      async openBlob() {
        opens++;
        throw new Error('a layer was read');
      },
    };
    /** Layers whose source counts the times it is opened, and fails them. */
    const untouchable = async (texts: string[]) =>
      (await Promise.all(texts.map(layer))).map((entry) => ({ ...entry, blobs }));
    const baseLayers = await untouchable(['os-1']);
    const oldBase = await assembleImage(config, baseLayers);
    const newBase = await assembleImage(config, await untouchable(['os-2']));
    const app = await assembleImage(
      { ...config, history: [{ created_by: 'base layer' }, { created_by: 'app' }] },
      [...baseLayers, ...(await untouchable(['app']))],
      { annotations: { a: 'b' } },
    );
    const configured = await mutateConfig(app, { cmd: ['x'] });
    const annotated = await mutateAnnotations(app, { c: 'd' });
    const rebased = await rebase(app, oldBase, newBase);
    const retagged = retag(rebased, 'v2');
    expect(layerDigests(configured)).toEqual(layerDigests(app));
    expect(annotated.manifest.json.annotations).toEqual({ a: 'b', c: 'd' });
    expect(layerDigests(retagged)).toEqual([...layerDigests(newBase), layerDigests(app)[1]]);
    expect(opens).toBe(0);
  });
});
