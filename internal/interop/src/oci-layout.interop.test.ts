// Our OCI layouts against umoci, skopeo and oci-image-tool, and theirs against us.
import { chmod, link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress, readTar } from '@stevedore/archive';
import { buildFromDir } from '@stevedore/build';
import { type Image, imageLayers, readBlob } from '@stevedore/image';
import { readOciLayout, writeOciLayout } from '@stevedore/transport-oci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';
import { describeTree } from './tree.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-interop-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A tree with everything a layer must carry exactly. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  await chmod(join(root, 'usr/local'), 0o750);
  await writeFile(join(root, 'usr/local/bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(root, 'usr/local/bin/tool'), 0o755);
  await writeFile(join(root, 'setuid'), 'x');
  await chmod(join(root, 'setuid'), 0o4711);
  await writeFile(join(root, 'private'), 'secret\n');
  await chmod(join(root, 'private'), 0o600);
  await link(join(root, 'usr/local/bin/tool'), join(root, 'tool-hardlink'));
  await symlink('usr/local/bin/tool', join(root, 'tool-symlink'));
  await symlink('/absolute/dangling', join(root, 'dangling'));
  await writeFile(join(root, 'ünïcødé ñame 名前.txt'), 'utf8\n');
  const long = join(root, 'a'.repeat(100), 'b'.repeat(120), 'c'.repeat(60));
  await mkdir(long, { recursive: true });
  await writeFile(join(long, `${'d'.repeat(200)}.txt`), 'long\n');
  await writeFile(join(root, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
}

const compressions = ['gzip', 'zstd', 'none'] as const;

describe.each(compressions)('an image built from a directory (%s)', (compression) => {
  let layout: string;
  let source: string;
  let image: Image;
  beforeAll(async () => {
    source = join(scratch, `tree-${compression}`);
    layout = join(scratch, `layout-${compression}`);
    await makeTree(source);
    image = await buildFromDir(
      source,
      { cmd: ['/usr/local/bin/tool'] },
      { compression, blobDirectory: join(scratch, 'blobs') },
    );
    await writeOciLayout(layout, image, { tag: 'v1' });
  });

  // umoci 0.4.7 and oci-image-tool 1.0.0-rc1 predate zstd layers (they refuse the media
  // type), so zstd images are checked by unpacking the layer with zstd and GNU tar instead.
  it(
    compression === 'zstd'
      ? 'zstd -d | tar -x yields exactly the tree'
      : 'umoci unpack yields exactly the tree',
    async (context) => {
      if (compression === 'zstd') {
        if (!(await needPeers(context, 'tar', 'zstd'))) return;
        const rootfs = join(scratch, 'rootfs-zstd');
        await mkdir(rootfs);
        const blob = join(layout, 'blobs', ...(image.manifest.json.layers[0]?.digest ?? '').split(':'));
        await runPeer('sh', ['-c', `zstd -dc '${blob}' | tar -xpf - -C '${rootfs}'`]);
        expect(await describeTree(rootfs)).toEqual(await describeTree(source));
        return;
      }
      if (!(await needPeers(context, 'umoci'))) return;
      const bundle = join(scratch, `bundle-${compression}`);
      await runPeer('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
      expect(await describeTree(join(bundle, 'rootfs'))).toEqual(await describeTree(source));
      const runtime = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
      expect(runtime.process.args).toEqual(['/usr/local/bin/tool']);
    },
  );

  it('skopeo inspects the layout and copies it to dir:', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const inspected = JSON.parse(await runPeer('skopeo', ['inspect', `oci:${layout}:v1`]));
    expect(inspected.Digest).toBe(image.manifest.digest.toString());
    expect(inspected.Layers).toEqual(image.manifest.json.layers.map((layer) => layer.digest));
    const dir = join(scratch, `dir-${compression}`);
    await runPeer('skopeo', ['copy', `oci:${layout}:v1`, `dir:${dir}`]);
    // skopeo keeps our bytes: the manifest it stored is ours, byte for byte
    expect(new Uint8Array(await readFile(join(dir, 'manifest.json')))).toEqual(image.manifest.raw);
  });

  it(`${compression === 'zstd' ? 'skopeo copies' : 'oci-image-tool validates'} the image`, async (context) => {
    if (compression === 'zstd') {
      // oci-image-tool predates zstd; skopeo re-reading every zstd blob into another layout checks them.
      if (!(await needPeers(context, 'skopeo'))) return;
      const copy = join(scratch, 'skopeo-zstd-copy');
      await runPeer('skopeo', ['copy', `oci:${layout}:v1`, `oci:${copy}:v1`]);
      expect((await readOciLayout(copy, { tag: 'v1' })).manifest.digest.toString()).toBe(
        image.manifest.digest.toString(),
      );
      return;
    }
    if (!(await needPeers(context, 'oci-image-tool'))) return;
    const output = await runPeer('oci-image-tool', [
      'validate',
      '--type',
      'image',
      '--ref',
      'name=v1',
      layout,
    ]);
    expect(output).toContain('Validation succeeded');
  });
});

describe('layouts written by the peers', () => {
  it('reads a layout skopeo wrote', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const source = join(scratch, 'for-skopeo');
    await makeTree(source);
    const image = await buildFromDir(
      source,
      { entrypoint: ['/tool-symlink'] },
      { blobDirectory: join(scratch, 'blobs') },
    );
    const ours = join(scratch, 'ours');
    await writeOciLayout(ours, image, { tag: 'src' });
    const theirs = join(scratch, 'skopeo-layout');
    // --dest-compress re-encodes the layers, so skopeo writes blobs and a manifest of its own
    await runPeer('skopeo', ['copy', '--dest-compress', `oci:${ours}:src`, `oci:${theirs}:copied`]);
    const read = await readOciLayout(theirs, { tag: 'copied' });
    expect(read.kind).toBe('image');
    if (read.kind !== 'image') return;
    expect(read.config.config?.Entrypoint).toEqual(['/tool-symlink']);
    const names = await layerNames(read);
    expect(names).toContain('usr/local/bin/tool');
    expect(names).toContain('ünïcødé ñame 名前.txt');
  });

  it('reads a layout umoci wrote, with a layer that has no end-of-archive blocks', async (context) => {
    if (!(await needPeers(context, 'umoci'))) return;
    const layout = join(scratch, 'umoci-layout');
    await runPeer('umoci', ['init', '--layout', layout]);
    await runPeer('umoci', ['new', '--image', `${layout}:base`]);
    const file = join(scratch, 'inserted.txt');
    await writeFile(file, 'inserted by umoci\n');
    await runPeer('umoci', ['insert', '--image', `${layout}:base`, file, '/etc/inserted.txt']);
    await runPeer('umoci', [
      'config',
      '--image',
      `${layout}:base`,
      '--config.cmd',
      'cat',
      '--config.cmd',
      '/etc/inserted.txt',
    ]);

    const read = await readOciLayout(layout, { tag: 'base' });
    expect(read.kind).toBe('image');
    if (read.kind !== 'image') return;
    expect(read.config.config?.Cmd).toEqual(['cat', '/etc/inserted.txt']);
    const layers = imageLayers(read);
    expect(layers).toHaveLength(1);
    // umoci 0.4.7 ends its layers without the two zero blocks: check that this one does.
    const tar = await collect(decompress(await readBlob(read, layers[0]?.descriptor.digest ?? ''), 'auto'));
    expect(tar.subarray(-1024).some((byte) => byte !== 0)).toBe(true);
    const contents: Record<string, string> = {};
    for await (const entry of readTar(tar)) {
      contents[entry.name] = new TextDecoder().decode(await collect(entry.content));
    }
    expect(contents['etc/inserted.txt'] ?? contents['/etc/inserted.txt']).toBe('inserted by umoci\n');
  });
});

async function layerNames(image: Image): Promise<string[]> {
  const names: string[] = [];
  for (const layer of imageLayers(image)) {
    for await (const entry of readTar(decompress(await readBlob(image, layer.descriptor.digest), 'auto'))) {
      names.push(entry.name.replace(/^\.\//, '').replace(/\/$/, ''));
    }
  }
  return names;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}
