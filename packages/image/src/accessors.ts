import type { Digest } from '@stevedore/digest';
import { type Descriptor, MediaTypes, manifestConfig, manifestLayers } from '@stevedore/manifest';
import type { Layer } from './assemble-image.ts';
import type { OpenBlobOptions } from './blob-source.ts';
import { blobNotFound, ImageError } from './errors.ts';
import type { Image, ImageFormat, ImageNode } from './image.ts';
import { openVerifiedBlob } from './read-blob.ts';

/** The digest of an image's, index's or artifact's manifest. */
export function imageDigest(node: ImageNode): Digest {
  return node.manifest.digest;
}

/** Whether an image or index is OCI or Docker schema 2, from its manifest's media type. */
export function imageFormat(node: ImageNode): ImageFormat {
  const { mediaType } = node.manifest;
  return mediaType === MediaTypes.DockerManifest || mediaType === MediaTypes.DockerManifestList
    ? 'docker'
    : 'oci';
}

/**
 * The layers of an image, bottom first: each descriptor paired with its diff_id from the
 * config, and the image's blob source.
 *
 * @throws {ImageError} `ERR_LAYER_MISMATCH` when the manifest and the config disagree on
 *   the number of layers.
 */
export function imageLayers(image: Image): Layer[] {
  const descriptors = manifestLayers(image.manifest);
  const diffIds = image.config.rootfs.diff_ids;
  if (descriptors.length !== diffIds.length) {
    throw new ImageError(
      'ERR_LAYER_MISMATCH',
      `image ${image.manifest.digest} lists ${descriptors.length} layers but its config has ${diffIds.length} diff_ids`,
      { digest: image.manifest.digest.toString(), expected: descriptors.length, actual: diffIds.length },
    );
  }
  return descriptors.map((descriptor, index) => ({
    descriptor,
    diffId: diffIds[index] ?? '',
    blobs: image.blobs,
  }));
}

/** The annotations of a manifest or index (empty when it has none). */
export function imageAnnotations(node: ImageNode): Readonly<Record<string, string>> {
  return node.manifest.json.annotations ?? {};
}

/** Every blob a manifest refers to directly: config and layers, or nothing for an index. */
export function imageBlobs(node: ImageNode): readonly Descriptor[] {
  if (node.kind === 'index') return [];
  return [manifestConfig(node.manifest), ...manifestLayers(node.manifest)];
}

/**
 * Opens one of an image's blobs (its config or a layer) by digest, verified as it streams.
 *
 * @throws {ImageError} `ERR_BLOB_NOT_FOUND` when the image has no such blob or its source
 *   does not hold it.
 */
export async function readBlob(
  node: ImageNode,
  digest: Digest | string,
  options: OpenBlobOptions = {},
): Promise<AsyncIterable<Uint8Array>> {
  const wanted = String(digest);
  const descriptor = imageBlobs(node).find((blob) => blob.digest === wanted);
  if (descriptor === undefined || node.kind === 'index')
    throw blobNotFound(wanted, `image ${node.manifest.digest}`);
  return openVerifiedBlob(node.blobs, descriptor, options);
}
