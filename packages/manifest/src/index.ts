export {
  indexManifests,
  manifestConfig,
  manifestDescriptor,
  manifestKind,
  manifestLayers,
  manifestReferences,
} from './accessors.ts';
export type { Descriptor } from './descriptor.ts';
export { ManifestError, type ManifestErrorCode, type ManifestErrorDetails } from './errors.ts';
export { hostPlatform } from './host-platform.ts';
export {
  checkImageConfig,
  type HealthConfig,
  type HistoryEntry,
  type ImageConfig,
  type ImageRuntimeConfig,
  parseImageConfig,
  serializeImageConfig,
} from './image-config.ts';
export type {
  ImageIndex,
  ImageManifest,
  Manifest,
  ManifestKind,
  ParsedImageManifest,
  ParsedIndex,
  ParsedSchema1Manifest,
  Schema1Manifest,
} from './manifest.ts';
export {
  ACCEPTED_MANIFEST_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
  isMediaType,
  isNondistributable,
  type KnownMediaType,
  type LayerCompression,
  layerCompression,
  MANIFEST_MEDIA_TYPES,
  MediaTypes,
  parseContentType,
} from './media-types.ts';
export { MAX_MANIFEST_SIZE, manifestDigest, parseManifest, serializeManifest } from './parse-manifest.ts';
export {
  formatPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatches,
} from './platform.ts';
export { manifestSubject, referrerDescriptor, referrersTag, withReferrer } from './referrers.ts';
export { selectManifest } from './select-manifest.ts';
