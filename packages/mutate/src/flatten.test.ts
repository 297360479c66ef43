import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { readTar, type TarEntryInput, writeTar } from '@stevedore/archive';
import { collectBytes } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  type BlobSink,
  createLayer,
  type Image,
  imageLayers,
  memoryBlobSink,
  readLayerTar,
} from '@stevedore/image';
import type { ImageConfig } from '@stevedore/manifest';
import { blobSinkDirectoriesHolding } from '@stevedore-internal/test-support';
import { describe, expect, it, test } from 'vitest';
import { flatten, MutateError } from './index.ts';

const text = (value: string) => new TextEncoder().encode(value);
const file = (name: string, content: string, extra: Partial<TarEntryInput> = {}): TarEntryInput => ({
  name,
  type: 'file',
  content: text(content),
  ...extra,
});
const dir = (name: string): TarEntryInput => ({ name, type: 'directory', mode: 0o750 });

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Entrypoint: ['/d'] },
  rootfs: { type: 'layers', diff_ids: [] },
  history: [{ created_by: 'one' }, { created_by: 'two' }, { created_by: 'three' }],
};

async function imageOf(layers: TarEntryInput[][]): Promise<Image> {
  const built = [];
  for (const entries of layers) built.push(await createLayer(writeTar(entries), { sink: memoryBlobSink }));
  return assembleImage(config, built);
}

interface Seen {
  type: string;
  text?: string;
  linkname?: string;
  mode: number;
}

async function contents(image: Image): Promise<Record<string, Seen>> {
  const seen: Record<string, Seen> = {};
  const [layer] = imageLayers(image);
  if (layer === undefined) throw new Error('no layer');
  for await (const entry of readTar(await readLayerTar(layer))) {
    const content = await collectBytes(entry.content);
    seen[entry.name] = {
      type: entry.type,
      mode: entry.mode,
      ...(entry.type === 'file' ? { text: new TextDecoder().decode(content) } : {}),
      ...(entry.type === 'hardlink' ? { linkname: entry.linkname } : {}),
    };
  }
  return seen;
}

describe('flatten', () => {
  it('merges layers into the effective filesystem', async () => {
    const image = await imageOf([
      [
        dir('a'),
        file('a/x', 'x0'),
        file('a/y', 'y0'),
        dir('b'),
        file('b/z', 'z0'),
        file('keep', 'keep'),
        file('t', 'shared', { mode: 0o600 }),
        dir('c'),
        file('c/deep', 'deep'),
        dir('e'),
        file('e/f', 'f'),
      ],
      [
        { name: 'link', type: 'hardlink', linkname: 't' },
        { name: 'ylink', type: 'hardlink', linkname: './a/y' },
        file('./a/x', 'x1'),
        file('b/.wh.z', ''),
        file('c/.wh..wh..opq', ''),
        file('c/new', 'new'),
        file('d', 'dfile'),
      ],
      [
        file('t', 't2'),
        file('.wh.keep', ''),
        file('e', 'e-file'),
        { name: 'sym', type: 'symlink', linkname: '/a/x' },
      ],
    ]);
    const flat = await flatten(image);
    expect(imageLayers(flat)).toHaveLength(1);
    expect(flat.config.config?.Entrypoint).toEqual(['/d']);
    expect(flat.config.history).toEqual([{ created_by: 'stevedore flatten', comment: '3 layers merged' }]);
    expect(flat.config.rootfs.diff_ids).toEqual([imageLayers(flat)[0]?.diffId]);

    const seen = await contents(flat);
    expect(Object.keys(seen).sort()).toEqual([
      'a/',
      'a/x',
      'a/y',
      'b/',
      'c/',
      'c/new',
      'd',
      'e',
      'link',
      'sym',
      't',
      'ylink',
    ]);
    expect(seen['a/x']?.text).toBe('x1');
    // link was made to t's first content, which a later layer replaced: it keeps that content
    expect(seen.link).toMatchObject({ type: 'file', text: 'shared', mode: 0o600 });
    expect(seen.t?.text).toBe('t2');
    // a hardlink whose target survived stays a hardlink
    expect(seen.ylink).toMatchObject({ type: 'hardlink', linkname: 'a/y' });
    expect(seen.e).toMatchObject({ type: 'file', text: 'e-file' });
    expect(seen['a/']?.mode).toBe(0o750);
    expect(seen.sym?.type).toBe('symlink');
  });

  it('writes a deleted target under the first surviving name, and the other names as links to it', async () => {
    const image = await imageOf([
      [
        file('orig', 'content'),
        { name: 'l1', type: 'hardlink', linkname: 'orig' },
        { name: 'l2', type: 'hardlink', linkname: 'orig' },
      ],
      [file('.wh.orig', '')],
    ]);
    const seen = await contents(await flatten(image));
    expect(seen.l1).toMatchObject({ type: 'file', text: 'content' });
    expect(seen.l2).toMatchObject({ type: 'hardlink', linkname: 'l1' });
    expect(seen.orig).toBeUndefined();
  });

  it('lets a file that replaces a directory remove what the directory held, in its own layer too', async () => {
    const image = await imageOf([
      [dir('below'), file('below/old', 'o')],
      [dir('same'), file('same/inner', 'i'), file('same', 'now a file'), file('below', 'also a file')],
    ]);
    const seen = await contents(await flatten(image));
    expect(Object.keys(seen).sort()).toEqual(['below', 'same']);
    expect(seen.same).toMatchObject({ type: 'file', text: 'now a file' });
    expect(seen.below).toMatchObject({ type: 'file', text: 'also a file' });
  });

  it('writes the layers of every platform of one call to one temporary directory by default', async () => {
    // Unique content, so the directories of flattens running beside this one do not count.
    const marker = randomUUID();
    const amd = await imageOf([[file('a', `amd ${marker}`)], [file('b', 'b')]]);
    const arm = await assembleImage({ ...config, architecture: 'arm64' }, [
      await createLayer(writeTar([file('a', `arm ${marker}`)]), { sink: memoryBlobSink }),
    ]);
    const flat = await flatten(await assembleIndex([amd, arm]), { platforms: 'all' });
    const digests = flat.children.flatMap((child) =>
      child.kind === 'image' ? imageLayers(child).map((layer) => layer.descriptor.digest.toString()) : [],
    );
    expect(digests).toHaveLength(2);
    const holding = await blobSinkDirectoriesHolding(digests);
    try {
      expect(holding).toHaveLength(1);
      expect(holding[0]?.files).toEqual(
        expect.arrayContaining(digests.map((digest) => digest.replace(':', '-'))),
      );
    } finally {
      for (const { path } of holding) await rm(path, { recursive: true, force: true });
    }
  });

  it('is deterministic', async () => {
    const layers = [[file('a', '1')], [file('b', '2')]];
    const first = await flatten(await imageOf(layers));
    const second = await flatten(await imageOf(layers));
    expect(first.manifest.digest.equals(second.manifest.digest)).toBe(true);
  });

  it('refuses paths that climb out of the root and hardlinks to nothing', async () => {
    await expect(flatten(await imageOf([[file('a/../../etc/passwd', 'x')]]))).rejects.toMatchObject({
      code: 'ERR_UNSAFE_PATH',
      path: 'a/../../etc/passwd',
    });
    await expect(
      flatten(await imageOf([[{ name: 'l', type: 'hardlink', linkname: '../../etc/shadow' }]])),
    ).rejects.toSatisfy((error) => MutateError.is(error, 'ERR_UNSAFE_PATH'));
    await expect(
      flatten(await imageOf([[{ name: 'l', type: 'hardlink', linkname: 'missing' }]])),
    ).rejects.toMatchObject({
      code: 'ERR_LAYER_INVALID',
      path: 'l',
    });
  });
});

describe('flatten refuses entries that would land outside the root', () => {
  const link = (name: string, type: 'symlink' | 'hardlink', linkname: string): TarEntryInput => ({
    name,
    type,
    linkname,
  });
  // [what, the layers, the offending entry, the layer it is in]
  test.each<[string, TarEntryInput[][], string, number]>([
    ['an absolute file', [[file('/etc/passwd', 'x')]], '/etc/passwd', 0],
    ['an absolute directory', [[dir('/etc')]], '/etc/', 0],
    [
      'a whiteout that climbs out',
      [[file('keep', 'k')], [file('a/../../.wh.etc', '')]],
      'a/../../.wh.etc',
      1,
    ],
    ['a symlink named with ..', [[link('../l', 'symlink', 'etc')]], '../l', 0],
    ['a symlink at the root to ..', [[link('l', 'symlink', '../etc')]], 'l', 0],
    [
      'a nested symlink that climbs above the root',
      [[dir('a'), dir('a/b'), link('a/b/l', 'symlink', '../../../etc/shadow')]],
      'a/b/l',
      0,
    ],
    [
      'a symlink in a later layer',
      [[file('f', 'f')], [dir('a'), link('a/up', 'symlink', 'x/../../../root')]],
      'a/up',
      1,
    ],
    ['a hardlink to ..', [[link('l', 'hardlink', '../../etc/shadow')]], 'l', 0],
    [
      'a hardlink to an absolute path',
      [[dir('etc'), file('etc/shadow', 's'), link('l', 'hardlink', '/etc/shadow')]],
      'l',
      0,
    ],
  ])('%s', async (_what, layers, path, layer) => {
    let created = 0;
    const sink: BlobSink = {
      create: () => {
        created++;
        return memoryBlobSink.create();
      },
    };
    const error = await flatten(await imageOf(layers), { blobSink: sink }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(MutateError.is(error, 'ERR_UNSAFE_PATH'), String(error)).toBe(true);
    expect(error).toMatchObject({ path, layer });
    expect((error as Error).message).toContain(JSON.stringify(path));
    // refused while planning: no layer was started
    expect(created).toBe(0);
  });

  it('takes symlinks that stay inside the root, absolute ones included', async () => {
    const image = await imageOf([
      [dir('a'), dir('a/b'), link('a/b/up', 'symlink', '../../etc'), link('abs', 'symlink', '/etc/../../x')],
      [link('a/dot', 'symlink', './b/../b')],
    ]);
    const seen = await contents(await flatten(image));
    expect(Object.keys(seen).sort()).toEqual(['a/', 'a/b/', 'a/b/up', 'a/dot', 'abs']);
  });
});
