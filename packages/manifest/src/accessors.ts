import type { Descriptor } from './descriptor.ts';
import { ManifestError } from './errors.ts';
import type {
  Manifest,
  ManifestKind,
  ParsedImageManifest,
  ParsedIndex,
  ParsedSchema1Manifest,
} from './manifest.ts';
import { schema1Layers } from './schema1.ts';

/** Whether a parsed document is a single-image manifest or a multi-platform index. */
export function manifestKind(manifest: Manifest): ManifestKind {
  return manifest.kind;
}

/**
 * The config descriptor of an image manifest.
 * @throws {ManifestError} `ERR_NOT_A_MANIFEST` for an index; `ERR_UNSUPPORTED_MEDIA_TYPE`
 *   for Docker schema 1, which has no config blob.
 */
export function manifestConfig(manifest: Manifest): Descriptor {
  const image = requireImageManifest(manifest, 'manifestConfig');
  if (image.format === 'schema1') {
    throw new ManifestError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `manifest ${manifest.digest} is Docker schema 1, which has no config descriptor`,
      { mediaType: manifest.mediaType },
    );
  }
  return image.json.config;
}

/**
 * The layer descriptors of an image manifest, bottom first. For Docker schema 1 they are
 * derived from `fsLayers` (without empty "throwaway" layers, and with size -1: unknown).
 * @throws {ManifestError} `ERR_NOT_A_MANIFEST` for an index.
 */
export function manifestLayers(manifest: Manifest): readonly Descriptor[] {
  const image = requireImageManifest(manifest, 'manifestLayers');
  return image.format === 'schema1' ? schema1Layers(image.json) : image.json.layers;
}

/**
 * The manifests an index lists.
 * @throws {ManifestError} `ERR_NOT_AN_INDEX` for a single-image manifest.
 */
export function indexManifests(manifest: Manifest): readonly Descriptor[] {
  return requireIndex(manifest, 'indexManifests').json.manifests;
}

/**
 * The content a manifest needs, by descriptor: an index's manifests; an image manifest's
 * config (none in Docker schema 1) and layers. A `subject` is not among them: a referrer
 * points at it, it does not hold it. What registries check on a push and what garbage
 * collection keeps.
 */
export function manifestReferences(manifest: Manifest): readonly Descriptor[] {
  if (manifest.kind === 'index') return indexManifests(manifest);
  if (manifest.format === 'schema1') return manifestLayers(manifest);
  return [manifestConfig(manifest), ...manifestLayers(manifest)];
}

/** A descriptor that points at a parsed manifest: its media type, digest and size. */
export function manifestDescriptor(manifest: Manifest): Descriptor {
  return { mediaType: manifest.mediaType, digest: manifest.digest.toString(), size: manifest.size };
}

/** @internal */
export function requireIndex(manifest: Manifest, caller: string): ParsedIndex {
  if (manifest.kind !== 'index') {
    throw new ManifestError(
      'ERR_NOT_AN_INDEX',
      `${caller}: ${manifest.digest} is an image manifest (${manifest.mediaType}), not an index`,
      { mediaType: manifest.mediaType },
    );
  }
  return manifest;
}

function requireImageManifest(
  manifest: Manifest,
  caller: string,
): ParsedImageManifest | ParsedSchema1Manifest {
  if (manifest.kind !== 'manifest') {
    throw new ManifestError(
      'ERR_NOT_A_MANIFEST',
      `${caller}: ${manifest.digest} is an index (${manifest.mediaType}), not an image manifest; select a platform first`,
      { mediaType: manifest.mediaType },
    );
  }
  return manifest;
}
