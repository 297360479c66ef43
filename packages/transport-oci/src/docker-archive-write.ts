// Writing `docker save` tars. Layers go in uncompressed, and a tar entry's size comes
// before its bytes, so each layer's header is written as a placeholder, the layer is
// decompressed straight into the archive (checked against its digest and diff_id on the
// way), and the header is written again with the real size. One pass over each layer,
// nothing held in memory, no spool file (skopeo spools each layer to a temporary file).
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeFileHeaderBlock, tarEnd, tarPadding } from '@stevedore/archive';
import { parseDigest } from '@stevedore/digest';
import {
  type Image,
  type ImageNode,
  imageLayers,
  type Layer,
  readLayerTar,
  type TransferOptions,
} from '@stevedore/image';
import { createAtomicFileWriter } from '@stevedore/image/node';
import { TransportError } from './errors.ts';

/** One image in a docker-archive's `manifest.json`. */
export interface DockerArchiveEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

/** Options for {@link writeDockerArchive}. */
export interface WriteDockerArchiveOptions extends TransferOptions {
  /** `name:tag` recorded in RepoTags, as `docker load` tags the image (e.g. `app:latest`). */
  readonly tag?: string;
}

/**
 * Writes an image as a `docker save` tar that `docker load`, `podman load` and skopeo
 * read: the config as `<hex>.json`, each layer decompressed to `<diff_id hex>/layer.tar`
 * (verified against its digest and diff_id), and `manifest.json` last. Written to a
 * temporary name beside `path` and renamed when whole. Layers go in one after another
 * (one file), so `concurrency` does not apply; progress events count each layer's
 * compressed bytes as they are read.
 *
 * @throws {TransportError} `ERR_AMBIGUOUS_REFERENCE` for an index (write one platform);
 *   digest errors when a layer is not its digest or does not decompress to its diff_id.
 */
export async function writeDockerArchive(
  path: string,
  node: ImageNode,
  options: WriteDockerArchiveOptions = {},
): Promise<void> {
  if (node.kind !== 'image') {
    throw new TransportError(
      'ERR_AMBIGUOUS_REFERENCE',
      `a docker-archive holds single-platform images; ${node.manifest.digest} is an ${node.kind}: select a platform first`,
      { path },
    );
  }
  const image: Image = node;
  const { signal, onProgress } = options;
  const layers = imageLayers(image);
  const configName = `${parseDigest(image.manifest.json.config.digest).encoded}.json`;
  const layerName = (layer: Layer) => `${parseDigest(layer.diffId).encoded}/layer.tar`;
  const manifest: DockerArchiveEntry[] = [
    {
      Config: configName,
      RepoTags: options.tag === undefined ? [] : [options.tag],
      Layers: layers.map(layerName),
    },
  ];

  await mkdir(dirname(path), { recursive: true });
  const file = await createAtomicFileWriter({ temporaryDirectory: dirname(path) });
  let position = 0;
  const put = async (bytes: Uint8Array) => {
    signal?.throwIfAborted();
    await file.write(bytes);
    position += bytes.byteLength;
  };
  const putFile = async (name: string, bytes: Uint8Array) => {
    await put(encodeFileHeaderBlock({ name, type: 'file', size: bytes.byteLength }));
    await put(bytes);
    await put(tarPadding(bytes.byteLength));
  };
  try {
    await putFile(configName, image.configBytes);
    const config = image.manifest.json.config;
    onProgress?.({ descriptor: config, state: 'done', bytes: config.size });
    const written = new Set<string>();
    for (const layer of layers) {
      if (written.has(layer.diffId)) continue;
      written.add(layer.diffId);
      const { descriptor } = layer;
      onProgress?.({ descriptor, state: 'started', bytes: 0 });
      const header = position;
      await put(encodeFileHeaderBlock({ name: layerName(layer), type: 'file', size: 0 }));
      let size = 0;
      // Every chunk is copied into the file writer's buffers before the next is asked for:
      // the source may read into reused buffers (a registry does, for big layers).
      const tar = await readLayerTar(layer, {
        transientChunks: true,
        ...(signal && { signal }),
        ...(onProgress && { onProgress }),
      });
      for await (const chunk of tar) {
        await put(chunk);
        size += chunk.byteLength;
      }
      await put(tarPadding(size));
      await file.writeAt(header, encodeFileHeaderBlock({ name: layerName(layer), type: 'file', size }));
      onProgress?.({ descriptor, state: 'done', bytes: descriptor.size });
    }
    await putFile('manifest.json', new TextEncoder().encode(JSON.stringify(manifest)));
    await put(tarEnd());
    await file.commit(path);
  } catch (error) {
    await file.abort();
    throw error;
  }
}
