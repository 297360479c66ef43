import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_MANIFEST_MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
  isMediaType,
  isNondistributable,
  layerCompression,
  MediaTypes,
  parseContentType,
} from './index.ts';

describe('media types', () => {
  it('spells the OCI and Docker types as their specs do', () => {
    expect(MediaTypes.OciManifest).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(MediaTypes.OciIndex).toBe('application/vnd.oci.image.index.v1+json');
    expect(MediaTypes.OciEmpty).toBe('application/vnd.oci.empty.v1+json');
    expect(MediaTypes.OciLayerZstd).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(MediaTypes.DockerManifestList).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(MediaTypes.DockerForeignLayerGzip).toBe(
      'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    );
    expect(MediaTypes.DockerSchema1SignedManifest).toBe(
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
    for (const type of Object.values(MediaTypes)) expect(isMediaType(type)).toBe(true);
  });

  it('classifies manifests, indexes and layers', () => {
    expect(isManifestMediaType(MediaTypes.DockerManifest)).toBe(true);
    expect(isManifestMediaType(MediaTypes.OciIndex)).toBe(false);
    expect(isIndexMediaType(MediaTypes.DockerManifestList)).toBe(true);
    expect(isIndexMediaType(MediaTypes.OciManifest)).toBe(false);
    expect(isNondistributable(MediaTypes.DockerForeignLayerGzip)).toBe(true);
    expect(isNondistributable(MediaTypes.OciLayerNondistributableZstd)).toBe(true);
    expect(isNondistributable(MediaTypes.OciLayerGzip)).toBe(false);
    expect(layerCompression(MediaTypes.DockerLayerGzip)).toBe('gzip');
    expect(layerCompression(MediaTypes.OciLayerZstd)).toBe('zstd');
    expect(layerCompression(MediaTypes.OciLayer)).toBe('none');
    expect(layerCompression('application/x.unknown')).toBeUndefined();
    expect(new Set(ACCEPTED_MANIFEST_MEDIA_TYPES).size).toBe(6);
  });

  it('reads Content-Type values', () => {
    expect(parseContentType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(parseContentType('  ')).toBeUndefined();
    expect(isMediaType('application/json; charset=utf-8')).toBe(false);
    expect(isMediaType('application')).toBe(false);
  });
});
