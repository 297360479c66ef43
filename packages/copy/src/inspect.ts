import type { ImageNode } from '@stevedore/image';
import type { ImageConfig, Manifest, Platform } from '@stevedore/manifest';
import { type CopySource, type PlatformSelection, readSource, selectPlatforms } from './copy.ts';
import type { RegistryOption } from './registry-option.ts';

/** What {@link inspect} tells about an image or index. */
export interface Inspection {
  readonly digest: string;
  readonly mediaType: string;
  /** The parsed manifest (its `raw` bytes are the manifest exactly as stored). */
  readonly manifest: Manifest;
  /** The image config, for an image. */
  readonly config?: ImageConfig;
  /** For an index: the platforms it lists, in order. */
  readonly platforms?: readonly Platform[];
  /** The tag the source named, if any. */
  readonly tag?: string;
}

/** Options for {@link inspect}: without `platform`, an index is described as an index. */
export interface InspectOptions extends Pick<PlatformSelection, 'platform'>, RegistryOption {
  readonly signal?: AbortSignal;
}

/**
 * Describes the image or index an endpoint names: digest, media type, manifest (raw bytes
 * kept), and the config of an image or the platforms of an index; with `platform`, the
 * image of that platform in an index. Layers are not read.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID`; `ERR_NO_MATCH` for a platform the index lacks.
 * @example
 * ```ts
 * const { config } = await inspect('oci:./layout:v1', { platform: 'linux/arm64' });
 * ```
 */
export async function inspect(source: CopySource, options: InspectOptions = {}): Promise<Inspection> {
  const { platform: _platform, ...reading } = options;
  const read = await readSource(source, reading);
  const node: ImageNode =
    options.platform === undefined ? read : await selectPlatforms(read, { platform: options.platform });
  return {
    digest: node.manifest.digest.toString(),
    mediaType: node.manifest.mediaType,
    manifest: node.manifest,
    ...(node.kind === 'image' ? { config: node.config } : {}),
    ...(node.kind === 'index'
      ? {
          platforms: node.manifest.json.manifests.flatMap((entry) =>
            entry.platform === undefined ? [] : [entry.platform],
          ),
        }
      : {}),
    ...(read.tag === undefined ? {} : { tag: read.tag }),
  };
}
