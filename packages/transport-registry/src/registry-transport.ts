// A registry as a transport: an image, index or artifact read by reference (manifests and
// configs now, layers on demand), and written through the copy engine's destination
// interface (blobs the repository lacks, children's manifests by digest, the top one by tag).
import { iterateBytes } from '@stevedore/digest';
import {
  type BlobSource,
  type ImageDestination,
  type ImageNode,
  loadImageNode,
  type ManifestBytes,
  type TransferOptions,
  writeImageNode,
} from '@stevedore/image';
import { readFileReusing } from '@stevedore/image/node';
import { parseManifest } from '@stevedore/manifest';
import type { RegistryClient, RequestOptions } from './client.ts';
import { RegistryError } from './errors.ts';
import { type Reference, repositoryOf, toReference } from './reference.ts';

/** Options for {@link readRegistry}. */
export interface ReadRegistryOptions extends RequestOptions {
  /** The reference's manifest, already fetched (`getManifest`): not asked for again. */
  readonly manifest?: ManifestBytes;
}

/**
 * Reads what a reference names from a registry: its manifest (by tag or digest), the
 * configs and child manifests it refers to; layers are fetched when read.
 * @throws {RegistryError} `ERR_REGISTRY_RESPONSE` (`MANIFEST_UNKNOWN`, `DENIED`, …).
 */
export async function readRegistry(
  reference: string | Reference,
  client: RegistryClient,
  options: ReadRegistryOptions = {},
): Promise<ImageNode> {
  const { manifest: given, ...request } = options;
  const ref = toReference(reference);
  const top = given ?? (await client.getManifest(ref, request));
  const repository = repositoryOf(ref);
  const blobs: BlobSource = {
    // Readers verify what they read (readBlob, destinations): not hashed twice here.
    async openBlob(descriptor, open = {}) {
      try {
        return await client.getBlob(repository, descriptor, { ...open, verify: false });
      } catch (error) {
        // A blob the repository lacks is `undefined`, as BlobSource says, so that sources
        // combined with this one (an image read here, then appended to) are asked next.
        if (error instanceof RegistryError && error.status === 404) return undefined;
        throw error;
      }
    },
    originOf: () => repository,
  };
  const manifests: BlobSource = {
    async openBlob(descriptor, open = {}) {
      const child = await client.getManifest({ ...repository, digest: descriptor.digest }, open);
      return iterateBytes(child.bytes);
    },
  };
  return loadImageNode(await parseManifest(top.bytes, top.mediaType), {
    blobs,
    manifests,
    ...(ref.tag === undefined ? {} : { tag: ref.tag }),
    ...request,
  });
}

/**
 * A repository as an `ImageDestination`: `hasManifest` and `hasBlob` ask with HEAD, blobs
 * are uploaded as streams, manifests go by digest and the top one under the reference's tag.
 */
export function openRegistryDestination(
  reference: string | Reference,
  client: RegistryClient,
): ImageDestination {
  const ref = toReference(reference);
  const repository = repositoryOf(ref);
  return {
    hasBlob: (descriptor, options = {}) => client.hasBlob(repository, descriptor, options),
    async hasManifest(descriptor, options = {}) {
      const { tag, ...request } = options;
      const target =
        tag === undefined ? { ...repository, digest: descriptor.digest } : { ...repository, tag };
      return (await client.headManifest(target, request))?.digest === descriptor.digest;
    },
    putBlob: (descriptor, content, options = {}) => client.putBlob(repository, descriptor, content, options),
    // A blob kept as a file (a layout's) goes up through four reused 1 MiB buffers rather
    // than a fresh buffer per chunk that only a full garbage collection frees: about half
    // the CPU, and the peak RSS no longer grows by ~64 MiB of dead buffers. Safe because a
    // 1 MiB chunk is more than a socket's high-water mark, so undici's write of it answers
    // false and undici asks the iterable for the next chunk only after 'drain', when the
    // socket is done with it (TLS has encrypted it by then); a buffer is read into again
    // three chunks later.
    async putBlobFile(descriptor, path, options = {}) {
      const open = async () => fileChunks(path, options.signal, options.onBytes);
      await client.putBlob(repository, descriptor, await open(), {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        reopen: open,
      });
    },
    async mountBlob(descriptor, origin, options = {}) {
      if (origin.registry !== repository.registry || origin.repository === repository.repository)
        return false;
      return client.mountBlob(repository, descriptor, origin.repository, options);
    },
    async putManifest(descriptor, manifest, options = {}) {
      const { tag, ...request } = options;
      const target = tag === undefined ? repository : { ...repository, tag };
      await client.putManifest(target, { ...manifest, digest: descriptor.digest }, request);
    },
    async commit() {}, // a registry shows each manifest as it is put
    async close() {},
  };
}

/** A file's bytes through four reused 1 MiB buffers (see `putBlobFile` above), counted to `onBytes`. */
async function* fileChunks(
  path: string,
  signal: AbortSignal | undefined,
  onBytes: ((bytes: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  const ring = readFileReusing(path, {
    buffers: 4,
    chunkSize: 1024 * 1024,
    release: async () => {},
    ...(signal && { signal }),
  });
  let bytes = 0;
  for await (const { chunk } of ring) {
    yield chunk;
    bytes += chunk.byteLength;
    onBytes?.(bytes);
  }
}

/**
 * Writes an image, index or artifact to a registry under the reference's tag (else the
 * node's, else `latest`; or by digest alone when the reference has only a digest): blobs
 * the repository already has are skipped after a HEAD.
 */
export async function writeRegistry(
  reference: string | Reference,
  node: ImageNode,
  client: RegistryClient,
  options: TransferOptions = {},
): Promise<void> {
  const ref = toReference(reference);
  const { tag: own, ...untagged } = node;
  const tag = registryTag(ref, own);
  await writeImageNode(untagged, openRegistryDestination(ref, client), {
    ...options,
    ...(tag === undefined ? {} : { tag }),
  });
}

/**
 * The tag a write to `reference` puts on the registry: the reference's, else (without a
 * digest) the node's own, else `latest`; none for a reference by digest alone.
 */
export function registryTag(reference: Reference, nodeTag: string | undefined): string | undefined {
  return reference.tag ?? (reference.digest === undefined ? (nodeTag ?? 'latest') : undefined);
}
