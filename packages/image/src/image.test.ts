import { collectBytes, computeDigest, type DigestError } from '@stevedore/digest';
import {
  type Descriptor,
  type ImageConfig,
  MediaTypes,
  manifestDescriptor,
  parseManifest,
} from '@stevedore/manifest';
import { describe, expect, it } from 'vitest';
import {
  assembleImage,
  assembleIndex,
  type BlobProgress,
  combineBlobSources,
  type ImageDestination,
  ImageError,
  imageAnnotations,
  imageDigest,
  imageFormat,
  imageLayers,
  type Layer,
  loadImageNode,
  type ManifestBytes,
  memoryBlobSource,
  readBlob,
  reassembleImage,
  writeImageNode,
} from './index.ts';

const encoder = new TextEncoder();

async function fakeLayer(text: string, mediaType: string = MediaTypes.OciLayerGzip): Promise<Layer> {
  // Not real tar+gzip: assembleImage never reads layer bytes, it only needs digests.
  const compressed = encoder.encode(`compressed:${text}`);
  const uncompressed = encoder.encode(`tar:${text}`);
  const digest = (await computeDigest(compressed)).toString();
  return {
    descriptor: { mediaType, digest, size: compressed.byteLength },
    diffId: (await computeDigest(uncompressed)).toString(),
    blobs: memoryBlobSource({ [digest]: compressed }),
  };
}

const baseConfig: ImageConfig = {
  architecture: 'arm64',
  os: 'linux',
  variant: 'v8',
  created: '2024-01-01T00:00:00Z',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
  rootfs: { type: 'layers', diff_ids: [] },
  history: [{ created_by: 'ENV PATH=/bin', empty_layer: true }],
};

async function collect(stream: AsyncIterable<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await collectBytes(stream));
}

describe('assembleImage', () => {
  it('fills diff_ids, history, sizes and digests', async () => {
    const layers = [await fakeLayer('one'), await fakeLayer('two')];
    const image = await assembleImage(baseConfig, layers, { annotations: { a: 'b' }, tag: 'v1' });
    expect(image.config.rootfs.diff_ids).toEqual(layers.map((layer) => layer.diffId));
    expect(image.config.history?.filter((entry) => !entry.empty_layer)).toHaveLength(2);
    expect(image.config.history?.[0]).toEqual({ created_by: 'ENV PATH=/bin', empty_layer: true });
    expect(image.config.config?.Cmd).toEqual(['sh']);
    const config = image.manifest.json.config;
    expect(config.size).toBe(image.configBytes.byteLength);
    expect(config.digest).toBe((await computeDigest(image.configBytes)).toString());
    expect(config.mediaType).toBe(MediaTypes.OciConfig);
    expect(image.manifest.json.layers).toEqual(layers.map((layer) => layer.descriptor));
    expect(imageDigest(image).toString()).toBe((await computeDigest(image.manifest.raw)).toString());
    expect(imageAnnotations(image)).toEqual({ a: 'b' });
    expect(imageFormat(image)).toBe('oci');
    expect(image.tag).toBe('v1');
  });

  it('drops surplus history entries and keeps the result deterministic', async () => {
    const layers = [await fakeLayer('one')];
    const config = {
      ...baseConfig,
      history: [{ created_by: 'a' }, { created_by: 'b' }, { created_by: 'c' }],
    };
    const first = await assembleImage(config, layers);
    const second = await assembleImage(config, layers);
    expect(first.config.history).toEqual([{ created_by: 'a' }]);
    expect(first.manifest.digest.equals(second.manifest.digest)).toBe(true);
  });

  it('renames layer media types for the Docker format and refuses zstd there', async () => {
    const gzip = await fakeLayer('g', MediaTypes.OciLayerGzip);
    const docker = await assembleImage(baseConfig, [gzip], { format: 'docker' });
    expect(docker.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(docker.manifest.json.config.mediaType).toBe(MediaTypes.DockerConfig);
    expect(docker.manifest.json.layers[0]?.mediaType).toBe(MediaTypes.DockerLayerGzip);
    expect(imageFormat(docker)).toBe('docker');
    // and back: the same bytes, the OCI name
    const oci = await assembleImage(docker.config, imageLayers(docker));
    expect(oci.manifest.json.layers[0]?.mediaType).toBe(MediaTypes.OciLayerGzip);
    expect(oci.manifest.json.layers[0]?.digest).toBe(gzip.descriptor.digest);

    const zstd = await fakeLayer('z', MediaTypes.OciLayerZstd);
    await expect(assembleImage(baseConfig, [zstd], { format: 'docker' })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
      mediaType: MediaTypes.OciLayerZstd,
    });
    await expect(
      assembleImage(baseConfig, [gzip], { format: 'docker', annotations: {} }),
    ).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('refuses a malformed config', async () => {
    await expect(assembleImage({ ...baseConfig, os: 1 } as unknown as ImageConfig, [])).rejects.toMatchObject(
      {
        code: 'ERR_CONFIG_INVALID',
      },
    );
  });
});

describe('accessors', () => {
  it('imageLayers pairs descriptors with diff_ids, and readBlob verifies', async () => {
    const layers = [await fakeLayer('one'), await fakeLayer('two')];
    const image = await assembleImage(baseConfig, layers);
    const paired = imageLayers(image);
    expect(paired.map((layer) => [layer.descriptor.digest, layer.diffId])).toEqual(
      layers.map((layer) => [layer.descriptor.digest, layer.diffId]),
    );
    expect(await collect(await readBlob(image, layers[1]?.descriptor.digest ?? ''))).toBe('compressed:two');
    expect(JSON.parse(await collect(await readBlob(image, image.manifest.json.config.digest)))).toEqual(
      JSON.parse(new TextDecoder().decode(image.configBytes)),
    );
    await expect(readBlob(image, `sha256:${'0'.repeat(64)}`)).rejects.toMatchObject({
      code: 'ERR_BLOB_NOT_FOUND',
    });
  });

  it('readBlob fails on a tampered blob', async () => {
    const layer = await fakeLayer('one');
    const tampered = {
      ...layer,
      blobs: memoryBlobSource({ [layer.descriptor.digest]: encoder.encode('compressed:onE') }),
    };
    const image = await assembleImage(baseConfig, [tampered]);
    const failure = await collect(await readBlob(image, layer.descriptor.digest)).catch(
      (error: DigestError) => error,
    );
    expect(failure).toMatchObject({ code: 'ERR_DIGEST_MISMATCH', expected: layer.descriptor.digest });
  });

  it('imageLayers refuses an image whose manifest and config disagree', async () => {
    const image = await assembleImage(baseConfig, [await fakeLayer('one')]);
    const broken = { ...image, config: { ...image.config, rootfs: { type: 'layers', diff_ids: [] } } };
    expect(() => imageLayers(broken)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_MISMATCH' }));
  });
});

describe('reassembleImage', () => {
  const subject: Descriptor = {
    mediaType: MediaTypes.OciManifest,
    digest: `sha256:${'a'.repeat(64)}`,
    size: 100,
  };

  it('keeps format, annotations, tag and subject, and replaces what it is given', async () => {
    const layers = [await fakeLayer('one')];
    const image = await assembleImage(baseConfig, layers, { annotations: { a: 'b' }, tag: 'v1', subject });
    const same = await reassembleImage(image);
    expect(same.manifest.digest.equals(image.manifest.digest)).toBe(true);
    expect(same.tag).toBe('v1');

    const more = [...layers, await fakeLayer('two')];
    const changed = await reassembleImage(image, {
      config: { ...image.config, config: { Cmd: ['new'] } },
      layers: more,
      annotations: { c: 'd' },
      tag: 'v2',
    });
    expect(changed.manifest.json.subject).toEqual(subject);
    expect(changed.manifest.json.annotations).toEqual({ c: 'd' });
    expect(changed.manifest.json.layers.map((layer) => layer.digest)).toEqual(
      more.map((layer) => layer.descriptor.digest),
    );
    expect(changed.config.config?.Cmd).toEqual(['new']);
    expect(changed.config.rootfs.diff_ids).toEqual(more.map((layer) => layer.diffId));
    expect(changed.tag).toBe('v2');
    expect(imageFormat(changed)).toBe('oci');
    // An empty set of annotations removes them.
    expect((await reassembleImage(image, { annotations: {} })).manifest.json.annotations).toBeUndefined();
  });

  it('drops the annotations and subject a Docker manifest cannot hold, and refuses new ones', async () => {
    const image = await assembleImage(baseConfig, [await fakeLayer('one')], {
      annotations: { a: 'b' },
      subject,
    });
    const docker = await reassembleImage(image, { format: 'docker' });
    expect(docker.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(docker.manifest.json.annotations).toBeUndefined();
    expect(docker.manifest.json.subject).toBeUndefined();
    expect(imageFormat(await reassembleImage(docker))).toBe('docker');
    const annotated = reassembleImage(docker, { annotations: { a: 'b' } });
    await expect(annotated).rejects.toThrow(ImageError);
    await expect(annotated).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('assembleIndex', () => {
  it('lists images with the platforms from their configs', async () => {
    const arm = await assembleImage(baseConfig, [await fakeLayer('arm')]);
    const { variant: _variant, ...amd64Config } = baseConfig;
    const amd = await assembleImage({ ...amd64Config, architecture: 'amd64' }, [await fakeLayer('amd')]);
    const index = await assembleIndex([amd, arm], { annotations: { x: 'y' } });
    expect(index.manifest.mediaType).toBe(MediaTypes.OciIndex);
    expect(index.manifest.json.manifests.map((entry) => entry.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(index.manifest.json.manifests[1]).toMatchObject({
      digest: arm.manifest.digest.toString(),
      size: arm.manifest.size,
      mediaType: MediaTypes.OciManifest,
    });
    const list = await assembleIndex([amd], { format: 'docker' });
    expect(list.manifest.mediaType).toBe(MediaTypes.DockerManifestList);
    const annotated = assembleIndex([amd], { format: 'docker', annotations: {} });
    await expect(annotated).rejects.toThrow(ImageError);
    await expect(annotated).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' });
    await expect(assembleIndex([amd], { format: 'other' as 'oci' })).rejects.toThrow(TypeError);
  });
});

/** A destination in memory that records the order of calls. */
function memoryDestination() {
  const blobs = new Map<string, Uint8Array>();
  const calls: string[] = [];
  const tags = new Map<string, string>();
  const running = { now: 0, most: 0 };
  const destination: ImageDestination = {
    async hasBlob(descriptor) {
      return blobs.has(descriptor.digest);
    },
    async putBlob(descriptor, content) {
      running.now++;
      running.most = Math.max(running.most, running.now);
      const parts: Uint8Array[] = [];
      for await (const chunk of content) {
        parts.push(chunk);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      blobs.set(descriptor.digest, new Uint8Array(Buffer.concat(parts)));
      calls.push(`blob ${descriptor.digest.slice(7, 15)}`);
      running.now--;
    },
    async putManifest(descriptor: Descriptor, manifest: ManifestBytes, options) {
      blobs.set(descriptor.digest, manifest.bytes);
      if (options?.tag !== undefined) tags.set(options.tag, descriptor.digest);
      calls.push(`manifest ${descriptor.digest.slice(7, 15)}${options?.tag ? ` ${options.tag}` : ''}`);
    },
    async commit() {
      calls.push('commit');
    },
    async close() {},
  };
  return { destination, blobs, calls, tags, running };
}

describe('writeImageNode and loadImageNode', () => {
  it('writes blobs, then children, then the tagged index, once each, and loads it back', async () => {
    const shared = await fakeLayer('shared');
    const arm = await assembleImage(baseConfig, [shared, await fakeLayer('arm')]);
    const amd = await assembleImage({ ...baseConfig, architecture: 'amd64' }, [shared]);
    const index = await assembleIndex([arm, amd], { tag: 'latest' });
    const { destination, blobs, calls, tags } = memoryDestination();
    await writeImageNode(index, destination);

    // two configs, the shared layer once, the arm layer
    expect(calls.filter((call) => call.startsWith('blob'))).toHaveLength(4);
    expect(calls.at(-2)).toBe(`manifest ${index.manifest.digest.encoded.slice(0, 8)} latest`);
    expect(calls.at(-1)).toBe('commit');
    expect(calls.indexOf(`manifest ${arm.manifest.digest.encoded.slice(0, 8)}`)).toBeLessThan(
      calls.length - 2,
    );
    expect(tags.get('latest')).toBe(index.manifest.digest.toString());

    const source = memoryBlobSource(blobs);
    const raw = blobs.get(index.manifest.digest.toString()) ?? new Uint8Array();
    const loaded = await loadImageNode(await parseManifest(raw), { blobs: source, tag: 'latest' });
    expect(loaded.kind).toBe('index');
    if (loaded.kind !== 'index') return;
    expect(loaded.tag).toBe('latest');
    expect(loaded.children.map((child) => child.manifest.digest.toString())).toEqual([
      arm.manifest.digest.toString(),
      amd.manifest.digest.toString(),
    ]);
    const [loadedArm] = loaded.children;
    expect(loadedArm?.kind === 'image' && loadedArm.config.architecture).toBe('arm64');
    expect(
      loadedArm?.kind === 'image' && (await collect(await readBlob(loadedArm, shared.descriptor.digest))),
    ).toBe('compressed:shared');
  });

  it('moves nothing but the tag to a destination that holds the manifest', async () => {
    const shared = await fakeLayer('shared');
    const arm = await assembleImage(baseConfig, [shared, await fakeLayer('arm')]);
    const amd = await assembleImage({ ...baseConfig, architecture: 'amd64' }, [shared]);
    const index = await assembleIndex([arm, amd]);
    const { destination: memory, calls, tags } = memoryDestination();
    const asked: string[] = [];
    const destination: ImageDestination = {
      ...memory,
      async hasManifest(descriptor, options = {}) {
        asked.push(options.tag ?? 'by digest');
        if (options.tag !== undefined) return tags.get(options.tag) === descriptor.digest;
        return calls.some((call) => call.startsWith(`manifest ${descriptor.digest.slice(7, 15)}`));
      },
    };
    await writeImageNode(index, destination, { tag: 'v1' });
    expect(asked).toEqual(['v1', 'by digest']); // held neither way: a full write
    const written = calls.length;
    expect(calls.filter((call) => call.startsWith('blob'))).toHaveLength(4);

    // Under another tag: blobs reported skipped and never asked for, the tag put alone.
    const events: BlobProgress[] = [];
    asked.length = 0;
    await writeImageNode(index, destination, { tag: 'v2', onProgress: (event) => events.push(event) });
    expect(asked).toEqual(['v2', 'by digest']);
    expect(calls.slice(written)).toEqual([
      `manifest ${index.manifest.digest.encoded.slice(0, 8)} v2`,
      'commit',
    ]);
    expect(events.map((event) => event.state)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(tags.get('v2')).toBe(index.manifest.digest.toString());

    // Under the same tag: nothing at all but the commit.
    asked.length = 0;
    await writeImageNode(index, destination, { tag: 'v2' });
    expect(asked).toEqual(['v2']);
    expect(calls.slice(written + 2)).toEqual(['commit']);
  });

  it('writes a manifest with a subject again even where it is held (its referrers bookkeeping)', async () => {
    const subject = await assembleImage(baseConfig, [await fakeLayer('subject')]);
    const referrer = await assembleImage(baseConfig, [await fakeLayer('signature')], {
      subject: manifestDescriptor(subject.manifest),
    });
    const { destination: memory, calls } = memoryDestination();
    const asked: string[] = [];
    const destination: ImageDestination = {
      ...memory,
      async hasManifest() {
        asked.push('asked');
        return true;
      },
    };
    await writeImageNode(referrer, destination);
    expect(asked).toEqual([]);
    expect(calls).toContain(`manifest ${referrer.manifest.digest.encoded.slice(0, 8)}`);
  });

  it('copies foreign layers when asked even where the manifest is held, and skips them otherwise', async () => {
    const plain = await fakeLayer('base');
    const foreign = await fakeLayer('foreign', MediaTypes.OciLayerNondistributableGzip);
    const image = await assembleImage(baseConfig, [plain, foreign]);
    const held = (destination: ImageDestination): ImageDestination => ({
      ...destination,
      hasManifest: async () => true,
    });
    const skipped = memoryDestination();
    await writeImageNode(image, held(skipped.destination));
    expect(skipped.calls.filter((call) => call.startsWith('blob'))).toEqual([]);
    const copied = memoryDestination();
    await writeImageNode(image, held(copied.destination), { includeNondistributable: true });
    expect(copied.calls).toContain(`blob ${foreign.descriptor.digest.slice(7, 15)}`);
  });

  it('loads the children of an index a few at once, in the index order', async () => {
    const images = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map(async (text, position) =>
        assembleImage({ ...baseConfig, architecture: `arch${position}` }, [await fakeLayer(text)]),
      ),
    );
    const index = await assembleIndex(images);
    const { destination, blobs } = memoryDestination();
    await writeImageNode(index, destination);
    const stored = memoryBlobSource(blobs);
    const running = { now: 0, most: 0 };
    const positions = new Map(images.map((image, position) => [image.manifest.digest.toString(), position]));
    const slow: typeof stored = {
      async openBlob(descriptor, options) {
        const position = positions.get(descriptor.digest);
        if (position === undefined) return stored.openBlob(descriptor, options);
        running.now++;
        running.most = Math.max(running.most, running.now);
        // The first children take longest, so they finish last.
        await new Promise((resolve) => setTimeout(resolve, 10 * (images.length - position)));
        running.now--;
        return stored.openBlob(descriptor, options);
      },
    };
    const loaded = await loadImageNode(index.manifest, { blobs: slow });
    expect(
      loaded.kind === 'index' && loaded.children.map((child) => child.manifest.digest.toString()),
    ).toEqual(images.map((image) => image.manifest.digest.toString()));
    expect(running.most).toBe(4);
  });

  it('opens the blob again for a destination that asks to send it another way', async () => {
    const layer = await fakeLayer('again');
    const image = await assembleImage(baseConfig, [layer]);
    const { destination, blobs } = memoryDestination();
    const retrying: ImageDestination = {
      ...destination,
      async putBlob(descriptor, content, options) {
        for await (const _chunk of content) break; // the first try gives up part way
        const again = await options?.reopen?.();
        if (again === undefined) throw new Error('no reopen');
        await destination.putBlob(descriptor, again, options);
      },
    };
    const events: BlobProgress[] = [];
    await writeImageNode(image, retrying, { onProgress: (event) => events.push(event) });
    expect(blobs.get(layer.descriptor.digest)).toEqual(encoder.encode('compressed:again'));
    const mine = events.filter((event) => event.descriptor.digest === layer.descriptor.digest);
    expect(mine.map((event) => event.state)).toEqual(['started', 'progress', 'progress', 'done']);
  });

  it('opens layers with transientChunks only for a destination that takes them', async () => {
    const layer = await fakeLayer('transient');
    const image = await assembleImage(baseConfig, [layer]);
    const written = memoryDestination();
    await writeImageNode(image, written.destination);
    const stored = memoryBlobSource(written.blobs);
    const asked: Array<boolean | undefined> = [];
    const recording: typeof stored = {
      async openBlob(descriptor, options) {
        if (descriptor.digest === layer.descriptor.digest) asked.push(options?.transientChunks);
        return stored.openBlob(descriptor, options);
      },
    };
    const loaded = await loadImageNode(image.manifest, { blobs: recording });
    await writeImageNode(loaded, memoryDestination().destination);
    const taking = memoryDestination();
    await writeImageNode(loaded, { ...taking.destination, transientChunks: true });
    expect(asked).toEqual([undefined, true]);
    expect(taking.blobs.get(layer.descriptor.digest)).toEqual(encoder.encode('compressed:transient'));
  });

  it('skips blobs the destination already holds', async () => {
    const image = await assembleImage(baseConfig, [await fakeLayer('one')]);
    const { destination, calls } = memoryDestination();
    await writeImageNode(image, destination, { tag: 'a' });
    const before = calls.length;
    await writeImageNode(image, destination, { tag: 'b' });
    expect(calls.slice(before)).toEqual([
      `manifest ${image.manifest.digest.encoded.slice(0, 8)} b`,
      'commit',
    ]);
  });

  it('moves `concurrency` blobs at once and reports each one skipped, started, moving and done', async () => {
    const layers = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((text) => fakeLayer(text)));
    const image = await assembleImage(baseConfig, layers);
    const { destination, blobs, running } = memoryDestination();
    const config = image.manifest.json.config;
    blobs.set(config.digest, image.configBytes); // already there: skipped
    const events: BlobProgress[] = [];
    await writeImageNode(image, destination, { concurrency: 2, onProgress: (event) => events.push(event) });
    expect(running.most).toBe(2);
    expect(events.filter((event) => event.state === 'skipped').map((event) => event.descriptor)).toEqual([
      config,
    ]);
    for (const { descriptor } of layers) {
      const mine = events.filter((event) => event.descriptor.digest === descriptor.digest);
      expect(mine.map((event) => event.state)).toEqual(['started', 'progress', 'done']);
      expect(mine.at(-2)?.bytes).toBe(descriptor.size);
      expect(mine.at(-1)?.bytes).toBe(descriptor.size);
    }
  });

  it('stops the blobs in flight when one fails, and writes no manifest', async () => {
    const good = await Promise.all(['a', 'b', 'c'].map((text) => fakeLayer(text)));
    const gone = await fakeLayer('gone');
    const image = await assembleImage(baseConfig, [...good, { ...gone, blobs: memoryBlobSource({}) }]);
    const { destination, calls, running } = memoryDestination();
    await expect(writeImageNode(image, destination, { concurrency: 4 })).rejects.toMatchObject({
      code: 'ERR_BLOB_NOT_FOUND',
    });
    expect(running.now).toBe(0); // nothing still running behind the rejection
    expect(calls.some((call) => call.startsWith('manifest') || call === 'commit')).toBe(false);
  });

  it('fails with ERR_BLOB_NOT_FOUND when a layer is nowhere to be read', async () => {
    const layer = await fakeLayer('gone');
    const image = await assembleImage(baseConfig, [{ ...layer, blobs: memoryBlobSource({}) }]);
    const { destination } = memoryDestination();
    await expect(writeImageNode(image, destination)).rejects.toMatchObject({
      code: 'ERR_BLOB_NOT_FOUND',
      digest: layer.descriptor.digest,
    });
  });

  it('loads an artifact without interpreting its config', async () => {
    const empty = encoder.encode('{}');
    const emptyDigest = (await computeDigest(empty)).toString();
    const manifest = await parseManifest(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        artifactType: 'application/vnd.example.sbom',
        config: { mediaType: MediaTypes.OciEmpty, digest: emptyDigest, size: 2 },
        layers: [],
      }),
    );
    const node = await loadImageNode(manifest, {
      blobs: combineBlobSources(memoryBlobSource({ [emptyDigest]: empty })),
    });
    expect(node.kind).toBe('artifact');
  });

  it('reports a missing child manifest', async () => {
    const image = await assembleImage(baseConfig, []);
    const index = await assembleIndex([image]);
    await expect(loadImageNode(index.manifest, { blobs: memoryBlobSource({}) })).rejects.toMatchObject({
      code: 'ERR_BLOB_NOT_FOUND',
    });
  });
});
