import {
  type Descriptor,
  indexManifests,
  isIndexMediaType,
  isManifestMediaType,
  type Manifest,
  ManifestError,
  MediaTypes,
  manifestConfig,
  parseImageConfig,
  parseManifest,
} from '@stevedore/manifest';
import type { BlobSource, OpenBlobOptions } from './blob-source.ts';
import { ImageError } from './errors.ts';
import type { ImageNode } from './image.ts';
import { readBlobBytes } from './read-blob.ts';
import { runBounded } from './run-bounded.ts';

/** Where a manifest graph's parts are read from. */
export interface LoadImageNodeOptions extends OpenBlobOptions {
  /** Layers and configs. */
  readonly blobs: BlobSource;
  /** The manifests an index lists; defaults to `blobs` (as in an OCI layout). */
  readonly manifests?: BlobSource;
  /** The tag to record on the loaded node. */
  readonly tag?: string;
}

/** How many children of an index are read at once (each may be a registry round trip). */
const CHILD_CONCURRENCY = 4;

const IMAGE_CONFIG_TYPES: readonly string[] = [MediaTypes.OciConfig, MediaTypes.DockerConfig];

/**
 * Turns a parsed manifest into an image, index or artifact, reading every config and
 * child manifest it refers to (verified), a few children of an index at once, kept in
 * the index's order; layers stay where they are.
 *
 * @throws {ImageError} `ERR_BLOB_NOT_FOUND`, `ERR_UNSUPPORTED_MEDIA_TYPE` (Docker schema 1);
 *   {@link ManifestError} for malformed children or configs.
 */
export async function loadImageNode(manifest: Manifest, options: LoadImageNodeOptions): Promise<ImageNode> {
  const tag = options.tag === undefined ? {} : { tag: options.tag };
  if (manifest.kind === 'index') {
    const entries = indexManifests(manifest);
    const children: ImageNode[] = new Array(entries.length);
    await runBounded(
      [...entries.keys()],
      CHILD_CONCURRENCY,
      async (position, signal) => {
        children[position] = await loadDescribed(entries[position] as Descriptor, { ...options, signal });
      },
      options.signal,
    );
    return { kind: 'index', manifest, children, ...tag };
  }
  if (manifest.format === 'schema1') {
    throw new ImageError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `manifest ${manifest.digest} is Docker schema 1, which Stevedore reads but does not load as an image`,
      { mediaType: manifest.mediaType },
    );
  }
  const config = manifestConfig(manifest);
  if (!IMAGE_CONFIG_TYPES.includes(config.mediaType)) {
    return { kind: 'artifact', manifest, blobs: options.blobs, ...tag };
  }
  const configBytes = await readBlobBytes(options.blobs, config, options);
  return {
    kind: 'image',
    manifest,
    config: parseImageConfig(configBytes),
    configBytes,
    blobs: options.blobs,
    ...tag,
  };
}

async function loadDescribed(descriptor: Descriptor, options: LoadImageNodeOptions): Promise<ImageNode> {
  if (!isManifestMediaType(descriptor.mediaType) && !isIndexMediaType(descriptor.mediaType)) {
    throw new ManifestError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `index entry ${descriptor.digest} has media type ${descriptor.mediaType}, not a manifest or index`,
      { mediaType: descriptor.mediaType },
    );
  }
  const bytes = await readBlobBytes(options.manifests ?? options.blobs, descriptor, {
    ...options,
    limit: 4 * 1024 * 1024,
  });
  const { tag: _tag, ...rest } = options;
  return loadImageNode(await parseManifest(bytes, descriptor.mediaType), rest);
}
