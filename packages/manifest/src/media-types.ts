/**
 * Media types of the OCI image-spec (v1.1) and of Docker's image formats.
 * Docker schema 1 types are recognized for reading only.
 */
export const MediaTypes = {
  // OCI image-spec, media-types.md
  OciDescriptor: 'application/vnd.oci.descriptor.v1+json',
  OciLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  // Deprecated by image-spec 1.1, but still found in the wild (Windows base layers).
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  // Docker image manifest v2, schema 2
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  // Docker image manifest v2, schema 1 (read-only)
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** One of the media types Stevedore knows by name. */
export type KnownMediaType = (typeof MediaTypes)[keyof typeof MediaTypes];

/** The media types of single-image manifests (OCI, Docker schema 2, Docker schema 1). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.OciManifest,
  MediaTypes.DockerManifest,
  MediaTypes.DockerSchema1Manifest,
  MediaTypes.DockerSchema1SignedManifest,
];

/** The media types of multi-platform indexes (OCI index, Docker manifest list). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaTypes.OciIndex, MediaTypes.DockerManifestList];

/**
 * Every media type `parseManifest` understands, in order of preference: the value for an
 * HTTP `Accept` header when fetching manifests.
 */
export const ACCEPTED_MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.OciIndex,
  MediaTypes.DockerManifestList,
  MediaTypes.OciManifest,
  MediaTypes.DockerManifest,
  MediaTypes.DockerSchema1SignedManifest,
  MediaTypes.DockerSchema1Manifest,
];

const NONDISTRIBUTABLE: readonly string[] = [
  MediaTypes.OciLayerNondistributable,
  MediaTypes.OciLayerNondistributableGzip,
  MediaTypes.OciLayerNondistributableZstd,
  MediaTypes.DockerForeignLayerGzip,
];

/** Whether `mediaType` is a single-image manifest type. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** Whether `mediaType` is an index or manifest-list type. */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(mediaType);
}

/**
 * Whether a layer of this media type is non-distributable (foreign): registries need not
 * hold its blob, and copies skip it by default.
 */
export function isNondistributable(mediaType: string): boolean {
  return NONDISTRIBUTABLE.includes(mediaType);
}

/** How a layer's tar is compressed. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * The compression a layer media type declares, or `undefined` when `mediaType` is not a
 * layer type Stevedore knows (an artifact's blob, say).
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaTypes.OciLayer:
    case MediaTypes.OciLayerNondistributable:
    case MediaTypes.DockerLayer:
      return 'none';
    case MediaTypes.OciLayerGzip:
    case MediaTypes.OciLayerNondistributableGzip:
    case MediaTypes.DockerLayerGzip:
    case MediaTypes.DockerForeignLayerGzip:
      return 'gzip';
    case MediaTypes.OciLayerZstd:
    case MediaTypes.OciLayerNondistributableZstd:
      return 'zstd';
    default:
      return undefined;
  }
}

// RFC 6838 section 4.2: type "/" subtype, each a restricted name of 1 to 127 characters.
const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const MEDIA_TYPE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);

/** Whether `value` is a well-formed media type (RFC 6838, without parameters). */
export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value);
}

/**
 * The bare media type of a `Content-Type` header value: parameters dropped, lowercased,
 * trimmed. Returns `undefined` for an empty value.
 */
export function parseContentType(contentType: string): string | undefined {
  const bare = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return bare === '' ? undefined : bare;
}
