import {
  type Descriptor,
  type ImageIndex,
  MediaTypes,
  manifestDescriptor,
  type ParsedIndex,
  type Platform,
  parseManifest,
  serializeManifest,
} from '@stevedore/manifest';
import { ImageError } from './errors.ts';
import type { ImageFormat, ImageNode, Index } from './image.ts';

/** Options for {@link assembleIndex}. */
export interface AssembleIndexOptions {
  /** `oci` (an OCI index, the default) or `docker` (a manifest list). */
  readonly format?: ImageFormat;
  /** Index annotations (OCI only). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The tag writers use when the caller names none. */
  readonly tag?: string;
  /** Descriptor fields to add per entry (annotations, or a platform for an artifact), by position. */
  readonly entries?: ReadonlyArray<Partial<Pick<Descriptor, 'annotations' | 'platform'>> | undefined>;
}

/**
 * Makes a digest-correct index of images, indexes and artifacts, in the order given.
 * Each image's entry carries the platform from its config (os, architecture, variant,
 * os.version, os.features).
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for annotations on a Docker manifest
 *   list, which has none.
 * @throws {TypeError} for an unknown format.
 */
export async function assembleIndex(
  children: readonly ImageNode[],
  options: AssembleIndexOptions = {},
): Promise<Index> {
  const format = options.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker')
    throw new TypeError(`assembleIndex: unknown format ${String(format)}`);
  if (format === 'docker' && options.annotations !== undefined) {
    throw new ImageError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'Docker manifest lists have no annotations; use format "oci"',
      { mediaType: MediaTypes.DockerManifestList },
    );
  }
  const manifests = children.map((child, position): Descriptor => {
    const extra = options.entries?.[position];
    const platform = extra?.platform ?? (child.kind === 'image' ? platformOf(child.config) : undefined);
    const annotations = extra?.annotations;
    return {
      ...manifestDescriptor(child.manifest),
      ...(platform === undefined ? {} : { platform }),
      ...(annotations === undefined ? {} : { annotations: { ...annotations } }),
    };
  });
  const json: ImageIndex = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaTypes.OciIndex : MediaTypes.DockerManifestList,
    manifests,
    ...(options.annotations === undefined ? {} : { annotations: { ...options.annotations } }),
  };
  const manifest = (await parseManifest(serializeManifest(json))) as ParsedIndex;
  return {
    kind: 'index',
    manifest,
    children: [...children],
    ...(options.tag === undefined ? {} : { tag: options.tag }),
  };
}

function platformOf(config: Platform): Platform {
  return {
    architecture: config.architecture,
    os: config.os,
    ...(config['os.version'] === undefined ? {} : { 'os.version': config['os.version'] }),
    ...(config['os.features'] === undefined ? {} : { 'os.features': [...config['os.features']] }),
    ...(config.variant === undefined ? {} : { variant: config.variant }),
  };
}
