import { compress, writeTar } from '@stevedore/archive';
import { collectBytes, computeDigest } from '@stevedore/digest';
import { MediaTypes } from '@stevedore/manifest';
import { describe, expect, it } from 'vitest';
import type { Layer } from './assemble-image.ts';
import { memoryBlobSource } from './blob-source.ts';
import type { BlobProgress } from './progress.ts';
import { readLayerTar } from './read-layer-tar.ts';

const tarOf = (text: string) =>
  collectBytes(writeTar([{ name: 'f', type: 'file', content: new TextEncoder().encode(text) }]));

/** A gzip layer serving `blob` under the digest and diff_id of the real gzip of `text`. */
async function layerOf(text: string, blob?: (gzip: Uint8Array) => Uint8Array): Promise<Layer> {
  const tar = await tarOf(text);
  const gzip = await collectBytes(compress(tar, 'gzip'));
  const digest = (await computeDigest(gzip)).toString();
  return {
    descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: gzip.length },
    diffId: (await computeDigest(tar)).toString(),
    blobs: memoryBlobSource({ [digest]: blob === undefined ? gzip : blob(gzip) }),
  };
}

describe('readLayerTar', () => {
  it('streams the uncompressed tar, reporting the compressed bytes read', async () => {
    const layer = await layerOf('hello');
    const events: BlobProgress[] = [];
    const tar = await collectBytes(await readLayerTar(layer, { onProgress: (event) => events.push(event) }));
    expect(tar).toEqual(await tarOf('hello'));
    expect(events.at(-1)).toEqual({
      descriptor: layer.descriptor,
      state: 'progress',
      bytes: layer.descriptor.size,
    });
  });

  it('fails with ERR_DIGEST_MISMATCH against the diff_id when the blob holds another tar', async () => {
    const layer = await layerOf('hello');
    const other = await layerOf('other');
    const swapped = { ...other, diffId: layer.diffId };
    await expect(collectBytes(await readLayerTar(swapped))).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
      expected: layer.diffId,
      actual: other.diffId,
    });
  });

  it('reports a flipped byte as the blob digest mismatch it is, not as a broken gzip', async () => {
    const layer = await layerOf('a'.repeat(10_000), (gzip) => {
      const bad = gzip.slice();
      bad[20] = (bad[20] as number) ^ 0xff;
      return bad;
    });
    await expect(collectBytes(await readLayerTar(layer))).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
      expected: layer.descriptor.digest,
    });
  });

  it('names the layer when a blob that is what its digest says does not decompress', async () => {
    const broken = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
    const digest = (await computeDigest(broken)).toString();
    const layer: Layer = {
      descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: broken.length },
      diffId: (await computeDigest(new Uint8Array())).toString(),
      blobs: memoryBlobSource({ [digest]: broken }),
    };
    const reading = collectBytes(await readLayerTar(layer));
    await expect(reading).rejects.toMatchObject({ code: 'ERR_DECOMPRESSION_FAILED' });
    await expect(reading).rejects.toThrow(digest);
  });

  it('hands an uncompressed blob whose digest is its diff_id over as it is read, checked once', async () => {
    const tar = await tarOf('plain');
    const digest = (await computeDigest(tar)).toString();
    // The source's own chunks, an empty one included: a decompressor's pass-through
    // would drop it, the verified blob passes it on.
    const chunks = [tar.subarray(0, 100), new Uint8Array(0), tar.subarray(100)];
    const layer: Layer = {
      descriptor: { mediaType: MediaTypes.OciLayer, digest, size: tar.length },
      diffId: digest,
      blobs: {
        async openBlob() {
          return (async function* () {
            yield* chunks;
          })();
        },
      },
    };
    const events: BlobProgress[] = [];
    const read: Uint8Array[] = [];
    for await (const chunk of await readLayerTar(layer, { onProgress: (event) => events.push(event) })) {
      read.push(chunk);
    }
    expect(read).toHaveLength(3);
    read.forEach((chunk, index) => {
      expect(chunk).toBe(chunks[index]);
    });
    expect(events.map((event) => event.bytes)).toEqual([100, 100, tar.length]);

    const flipped = tar.slice();
    flipped[600] = (flipped[600] as number) ^ 0xff;
    const bad = { ...layer, blobs: memoryBlobSource({ [digest]: flipped }) };
    await expect(collectBytes(await readLayerTar(bad))).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
      expected: digest,
    });
  });
});
