import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hostPlatform, type Manifest, ManifestError, parseManifest, selectManifest } from './index.ts';

async function fixture(name: string): Promise<Manifest> {
  return parseManifest(await readFile(new URL(`../test/fixtures/${name}`, import.meta.url)));
}

describe('selectManifest', () => {
  it('picks by os, architecture and variant from a Docker manifest list (alpine:3.18.2)', async () => {
    const list = await fixture('docker-manifest-list-arm.json');
    expect(selectManifest(list, 'linux/amd64').digest).toMatch(/^sha256:25fad2a3/);
    expect(selectManifest(list, 'linux/arm/v6').digest).toMatch(/^sha256:ae30c291/);
    // arm without a variant means v7, even though v6 is listed first
    expect(selectManifest(list, 'linux/arm').digest).toMatch(/^sha256:0b75b5bf/);
    expect(selectManifest(list, 'linux/arm64').digest).toMatch(/^sha256:e3bd8219/);
    expect(selectManifest(list, 'linux/aarch64').digest).toMatch(/^sha256:e3bd8219/);
    expect(selectManifest(list, { os: 'linux', architecture: 'x86_64' }).digest).toMatch(/^sha256:25fad2a3/);
  });

  it('never picks attestation entries of a Docker Hub index (postgres:17.11)', async () => {
    const index = await fixture('dockerhub-index-attestations.json');
    expect(selectManifest(index, 'linux/amd64').digest).toMatch(/^sha256:e31e3d53/);
    expect(selectManifest(index, 'linux/arm64/v8').digest).toMatch(/^sha256:86fa57b4/);
    expect(selectManifest(index, 'linux/arm').digest).toMatch(/^sha256:b635c790/);
    expect(selectManifest(index, 'linux/arm/v5').digest).toMatch(/^sha256:9b6d2e9b/);
    expect(() => selectManifest(index, 'unknown/unknown/v1')).toThrow(ManifestError);
  });

  it('matches arm64 entries that omit the v8 variant', async () => {
    const index = await fixture('regclient-index-docker-reference-unknown-platform.json');
    expect(selectManifest(index, 'linux/arm64/v8').digest).toMatch(/^sha256:a7f0466d/);
  });

  it('falls back to another variant only when none was asked for', async () => {
    const index = await parseManifest(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${'1'.repeat(64)}`,
            size: 1,
            platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
          },
        ],
      }),
    );
    expect(selectManifest(index, 'linux/arm').digest).toBe(`sha256:${'1'.repeat(64)}`);
    expect(() => selectManifest(index, 'linux/arm/v7')).toThrow(
      expect.objectContaining({ code: 'ERR_NO_MATCH' }),
    );
  });

  it('fails with ERR_NO_MATCH naming what is available', async () => {
    const list = await fixture('docker-manifest-list-fedora33.json');
    try {
      selectManifest(list, 'windows/amd64');
      expect.unreachable();
    } catch (error) {
      expect(ManifestError.is(error, 'ERR_NO_MATCH')).toBe(true);
      const failure = error as ManifestError;
      expect(failure.message).toContain('windows/amd64');
      expect(failure.message).toContain('linux/arm/v7, linux/arm64/v8, linux/ppc64le');
      expect(failure.wanted).toEqual({ os: 'windows', architecture: 'amd64' });
      expect(failure.available).toHaveLength(5);
    }
  });

  it('defaults to the host platform', async () => {
    const list = await fixture('docker-manifest-list-arm.json');
    expect(selectManifest(list)).toEqual(selectManifest(list, hostPlatform()));
  });

  it('refuses a single-image manifest with ERR_NOT_AN_INDEX', async () => {
    const manifest = await fixture('spec-manifest.json');
    expect(() => selectManifest(manifest, 'linux/amd64')).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_AN_INDEX' }),
    );
  });
});
