import { describe, expect, it } from 'vitest';
import {
  MediaTypes,
  manifestSubject,
  parseManifest,
  referrerDescriptor,
  referrersTag,
  withReferrer,
} from './index.ts';

const subject = {
  mediaType: MediaTypes.OciManifest,
  digest: `sha256:${'a'.repeat(64)}`,
  size: 123,
};
const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 };

describe('referrers', () => {
  it('lists an artifact by its artifactType and annotations, an image manifest by its config type', async () => {
    const signature = await parseManifest(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        artifactType: 'application/vnd.example.signature',
        config: empty,
        layers: [],
        subject,
        annotations: { 'org.example.signed-by': 'ci' },
      }),
    );
    expect(manifestSubject(signature)).toEqual(subject);
    expect(referrerDescriptor(signature)).toEqual({
      mediaType: MediaTypes.OciManifest,
      digest: signature.digest.toString(),
      size: signature.size,
      artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.signed-by': 'ci' },
    });
    const sbom = await parseManifest(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        config: { ...empty, mediaType: 'application/spdx+json' },
        layers: [],
        subject,
      }),
    );
    expect(referrerDescriptor(sbom)).toEqual({
      mediaType: MediaTypes.OciManifest,
      digest: sbom.digest.toString(),
      size: sbom.size,
      artifactType: 'application/spdx+json',
    });
  });

  it('finds no subject in a manifest without one', async () => {
    const plain = await parseManifest(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [] }),
    );
    expect(manifestSubject(plain)).toBeUndefined();
    expect(referrerDescriptor(plain)).toEqual({
      mediaType: MediaTypes.OciIndex,
      digest: plain.digest.toString(),
      size: plain.size,
    });
  });

  it('names the fallback tag <algorithm>-<encoded>, truncated as the tag schema says', () => {
    expect(referrersTag(`sha256:${'b'.repeat(64)}`)).toBe(`sha256-${'b'.repeat(64)}`);
    expect(referrersTag(`sha512:${'c'.repeat(128)}`)).toBe(`sha512-${'c'.repeat(64)}`);
    expect(referrersTag(`${'x'.repeat(40)}:${'d'.repeat(10)}`)).toBe(`${'x'.repeat(32)}-${'d'.repeat(10)}`);
  });

  it('adds a referrer to a referrers index once, keeping the others in order', () => {
    const one = { ...subject, digest: `sha256:${'1'.repeat(64)}`, artifactType: 'a/one' };
    const two = { ...subject, digest: `sha256:${'2'.repeat(64)}`, artifactType: 'a/two' };
    const first = withReferrer(undefined, one);
    expect(first).toEqual({ schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [one] });
    const both = withReferrer(first, two);
    expect(both.manifests).toEqual([one, two]);
    const again = withReferrer(both, { ...one, annotations: { new: 'yes' } });
    expect(again.manifests).toEqual([two, { ...one, annotations: { new: 'yes' } }]);
  });
});
