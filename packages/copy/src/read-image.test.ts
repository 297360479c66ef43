import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleIndex } from '@stevedore/image';
import { hostPlatform } from '@stevedore/manifest';
import { smallImage } from '@stevedore-internal/test-support';
import { describe, expect, it } from 'vitest';
import { CopyError, copy, readImage } from './index.ts';

describe('readImage', () => {
  it("takes one platform of an index, the host's by default, and an image as it is", async () => {
    const layout = join(await mkdtemp(join(tmpdir(), 'stevedore-read-image-')), 'layout');
    const amd = await smallImage('amd', 'amd64');
    const arm = await smallImage('arm', 'arm64', 'v8');
    await copy(await assembleIndex([amd, arm]), `oci:${layout}:multi`, { all: true });
    await copy(arm, `oci:${layout}:arm`);

    const picked = await readImage(`oci:${layout}:multi`, { platform: 'linux/arm64' });
    expect(picked.manifest.digest).toEqual(arm.manifest.digest);
    expect(picked.config.architecture).toBe('arm64');
    const host = hostPlatform();
    if (host.os === 'linux' && (host.architecture === 'amd64' || host.architecture === 'arm64')) {
      const byDefault = await readImage(`oci:${layout}:multi`);
      expect(byDefault.config.architecture).toBe(host.architecture);
    }
    expect((await readImage(`oci:${layout}:arm`)).manifest.digest).toEqual(arm.manifest.digest);
    expect((await readImage(amd)).manifest.digest).toEqual(amd.manifest.digest);
    await expect(readImage(`oci:${layout}:multi`, { platform: 'linux/s390x' })).rejects.toMatchObject({
      code: 'ERR_NO_MATCH',
    });
  });

  it('refuses an artifact with ERR_NOT_AN_IMAGE naming the endpoint', async () => {
    // An OCI 1.1 artifact (an SBOM): the empty config, one blob; written as a layout by hand.
    const layout = join(await mkdtemp(join(tmpdir(), 'stevedore-read-image-')), 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const put = async (bytes: string) => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(blobs, hex), bytes);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(bytes) };
    };
    const empty = await put('{}');
    const sbom = await put('{"packages":[]}');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
      layers: [{ mediaType: 'application/spdx+json', ...sbom }],
    });
    const top = await put(manifest);
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...top,
            annotations: { 'org.opencontainers.image.ref.name': 'sbom' },
          },
        ],
      }),
    );
    const read = readImage(`oci:${layout}:sbom`);
    await expect(read).rejects.toBeInstanceOf(CopyError);
    await expect(read).rejects.toMatchObject({ code: 'ERR_NOT_AN_IMAGE', endpoint: `oci:${layout}:sbom` });
  });
});
