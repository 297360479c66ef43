import { computeDigest } from '@stevedore/digest';
import {
  checkImageConfig,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  MediaTypes,
  type ParsedImageManifest,
  parseImageConfig,
  parseManifest,
  serializeImageConfig,
  serializeManifest,
} from '@stevedore/manifest';
import { type BlobSource, combineBlobSources, memoryBlobSource } from './blob-source.ts';
import { ImageError } from './errors.ts';
import type { Image, ImageFormat } from './image.ts';
import { layerMediaType } from './layer-media-type.ts';

/** A layer of an image: its compressed blob's descriptor, its diff_id, and where its bytes are. */
export interface Layer {
  /** The blob as the manifest lists it: media type, digest and size of the compressed bytes. */
  readonly descriptor: Descriptor;
  /** The sha256 digest of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  readonly diffId: string;
  readonly blobs: BlobSource;
}

/** Options for {@link assembleImage}. */
export interface AssembleImageOptions {
  /** `oci` (the default) or `docker` (schema 2). Layer media types are renamed to fit. */
  readonly format?: ImageFormat;
  /** Manifest annotations (OCI only). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The tag writers use when the caller names none. */
  readonly tag?: string;
  /** The manifest this one refers to (OCI 1.1 referrers). */
  readonly subject?: Descriptor;
  readonly signal?: AbortSignal;
}

/**
 * The one place that turns a config and layers into a digest-correct image: it sets
 * `rootfs.diff_ids` from the layers, makes the non-empty history entries match the layer
 * count (adding entries for layers that have none, dropping surplus ones from the end),
 * serializes the config and computes its digest and size, lists the layers under the
 * format's media types, and computes the manifest digest. Layer bytes are never read.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for zstd layers or annotations in the
 *   Docker format; {@link ManifestError} `ERR_CONFIG_INVALID` for a malformed config.
 * @example
 * ```ts
 * const image = await assembleImage(config, [...imageLayers(base), layer], { format: 'oci' });
 * ```
 */
export async function assembleImage(
  config: ImageConfig,
  layers: readonly Layer[],
  options: AssembleImageOptions = {},
): Promise<Image> {
  const format = options.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker')
    throw new TypeError(`assembleImage: unknown format ${String(format)}`);
  checkImageConfig(config);
  const finalConfig: ImageConfig = {
    ...config,
    rootfs: { ...config.rootfs, type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    ...(config.history === undefined && layers.length === 0
      ? {}
      : { history: matchHistory(config.history ?? [], layers.length, config.created) }),
  };
  checkImageConfig(finalConfig);
  const configBytes = serializeImageConfig(finalConfig);
  const configDescriptor: Descriptor = {
    mediaType: format === 'oci' ? MediaTypes.OciConfig : MediaTypes.DockerConfig,
    digest: (await computeDigest(configBytes, 'sha256', options)).toString(),
    size: configBytes.byteLength,
  };
  if (format === 'docker' && (options.annotations !== undefined || options.subject !== undefined)) {
    throw new ImageError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'Docker schema 2 manifests have no annotations or subject; use format "oci"',
    );
  }
  const json: ImageManifest = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaTypes.OciManifest : MediaTypes.DockerManifest,
    config: configDescriptor,
    layers: layers.map((layer) => ({
      ...layer.descriptor,
      mediaType: layerMediaType(layer.descriptor.mediaType, format),
    })),
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.annotations === undefined ? {} : { annotations: { ...options.annotations } }),
  };
  const manifest = (await parseManifest(serializeManifest(json))) as ParsedImageManifest;
  return {
    kind: 'image',
    manifest,
    config: parseImageConfig(configBytes),
    configBytes,
    blobs: combineBlobSources(
      memoryBlobSource(new Map([[configDescriptor.digest, configBytes]])),
      ...layers.map((layer) => layer.blobs),
    ),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
  };
}

/** Non-empty history entries, one per layer: missing ones added, surplus ones dropped from the end. */
function matchHistory(
  history: readonly HistoryEntry[],
  layerCount: number,
  created: string | undefined,
): HistoryEntry[] {
  const result: HistoryEntry[] = [];
  let nonEmpty = 0;
  for (const entry of history) {
    if (entry.empty_layer === true) result.push(entry);
    else if (nonEmpty < layerCount) {
      result.push(entry);
      nonEmpty++;
    }
  }
  for (; nonEmpty < layerCount; nonEmpty++) {
    result.push({ ...(created === undefined ? {} : { created }), created_by: 'stevedore', comment: 'layer' });
  }
  return result;
}
