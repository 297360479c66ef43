import { MediaTypes } from '@stevedore/manifest';
import { ImageError } from './errors.ts';
import type { ImageFormat } from './image.ts';

// The same bytes under the other format's name. Layers whose type has no counterpart
// (zstd, uncompressed non-distributable) cannot be in a Docker manifest.
const TO_OCI: Readonly<Record<string, string>> = {
  [MediaTypes.DockerLayerGzip]: MediaTypes.OciLayerGzip,
  [MediaTypes.DockerLayer]: MediaTypes.OciLayer,
  [MediaTypes.DockerForeignLayerGzip]: MediaTypes.OciLayerNondistributableGzip,
};
const TO_DOCKER: Readonly<Record<string, string>> = {
  [MediaTypes.OciLayerGzip]: MediaTypes.DockerLayerGzip,
  [MediaTypes.OciLayer]: MediaTypes.DockerLayer,
  [MediaTypes.OciLayerNondistributableGzip]: MediaTypes.DockerForeignLayerGzip,
};
const NO_DOCKER_TYPE: readonly string[] = [
  MediaTypes.OciLayerZstd,
  MediaTypes.OciLayerNondistributableZstd,
  MediaTypes.OciLayerNondistributable,
];

/**
 * The media type a layer has in a manifest of `format`: the same bytes, named as that
 * format names them; types of neither format (artifact blobs) pass unchanged.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for zstd (and uncompressed
 *   non-distributable) layers in the Docker format, which has no such types.
 */
export function layerMediaType(mediaType: string, format: ImageFormat): string {
  if (format === 'oci') return TO_OCI[mediaType] ?? mediaType;
  if (NO_DOCKER_TYPE.includes(mediaType)) {
    throw new ImageError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `a Docker schema 2 image cannot hold a ${mediaType} layer (Docker has no zstd layer type); use format 'oci' or gzip`,
      { mediaType },
    );
  }
  return TO_DOCKER[mediaType] ?? mediaType;
}
