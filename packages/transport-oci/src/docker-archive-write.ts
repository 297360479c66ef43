// Writing `docker save` tars. Layers go in uncompressed, and a tar entry's size comes
// before its bytes, so each distinct layer is decompressed once into a spool file beside
// the destination (verified against its diff_id on the way), `concurrency` layers at a
// time, while the tar takes the spooled layers in order. skopeo spools the same way; it
// never holds a layer in memory.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type TarEntryInput, writeTar } from '@stevedore/archive';
import { parseDigest } from '@stevedore/digest';
import {
  type Image,
  type ImageNode,
  imageLayers,
  type Layer,
  readLayerTar,
  runBounded,
  type TransferOptions,
} from '@stevedore/image';
import { readFileChunks } from '@stevedore/image/node';
import { TransportError } from './errors.ts';
import { writeFileAtomic } from './oci-layout.ts';

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

interface Spooled {
  readonly path: string;
  readonly size: number;
}

/**
 * Writes an image as a `docker save` tar that `docker load`, `podman load` and skopeo
 * read: the config as `<hex>.json`, each layer decompressed to `<diff_id hex>/layer.tar`
 * (verified against its diff_id), and `manifest.json` last. Written to a temporary name
 * beside `path` and renamed when whole; the layers' spool files are removed either way.
 * Progress events count each layer's compressed bytes as they are read.
 *
 * @throws {TransportError} `ERR_AMBIGUOUS_REFERENCE` for an index (write one platform);
 *   `ERR_DIGEST_MISMATCH` when a layer does not decompress to its diff_id or is not what
 *   its digest says; `ERR_DECOMPRESSION_FAILED` naming a layer that is not what its media
 *   type says.
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
  const distinct = [...new Map(layers.map((layer) => [layer.diffId, layer])).values()];
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
  const spool = join(dirname(path), `.tmp-${randomUUID()}`);
  await mkdir(spool);
  const spooled = distinct.map(() => deferred<Spooled>());
  // Stops the spooling when the tar fails (a full disk, a bad layer) or the caller aborts.
  const stop = new AbortController();
  const spooling = runBounded(
    distinct.map((layer, position) => ({ layer, position })),
    options.concurrency ?? 4,
    async ({ layer, position }, taskSignal) => {
      const file = join(spool, `${position}.tar`);
      spooled[position]?.resolve({
        path: file,
        size: await spoolLayer(layer, file, taskSignal, options),
      });
    },
    signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]),
  );
  spooling.catch((error: unknown) => {
    for (const promise of spooled) promise.reject(error);
  });

  async function* entries(): AsyncGenerator<TarEntryInput> {
    yield { name: configName, type: 'file', content: image.configBytes };
    for (const [position, layer] of distinct.entries()) {
      yield { name: `${parseDigest(layer.diffId).encoded}/`, type: 'directory' };
      const { path: file, size } = await (spooled[position] as Deferred<Spooled>).promise;
      yield {
        name: layerName(layer),
        type: 'file',
        size,
        content: readFileChunks(file, signal === undefined ? {} : { signal }),
      };
    }
    yield {
      name: 'manifest.json',
      type: 'file',
      content: new TextEncoder().encode(JSON.stringify(manifest)),
    };
  }
  try {
    if (onProgress !== undefined) {
      const descriptor = image.manifest.json.config;
      onProgress({ descriptor, state: 'done', bytes: descriptor.size });
    }
    await writeFileAtomic(path, writeTar(entries(), signal === undefined ? {} : { signal }), dirname(path));
  } catch (error) {
    stop.abort(error);
    throw error;
  } finally {
    await spooling.catch(() => {});
    await rm(spool, { recursive: true, force: true });
  }
}

/** Decompresses a layer into `file`, checked against its digest and diff_id; answers its size. */
async function spoolLayer(
  layer: Layer,
  file: string,
  signal: AbortSignal,
  options: TransferOptions,
): Promise<number> {
  const { descriptor } = layer;
  const { onProgress } = options;
  onProgress?.({ descriptor, state: 'started', bytes: 0 });
  const handle = await open(file, 'wx');
  let size = 0;
  try {
    for await (const chunk of await readLayerTar(layer, { signal, ...(onProgress && { onProgress }) })) {
      size += chunk.byteLength;
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  onProgress?.({ descriptor, state: 'done', bytes: descriptor.size });
  return size;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => {}); // observed by the tar writer when it gets there, or not at all
  return { promise, resolve, reject };
}
