import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleImage, assembleIndex, type Image, type ImageNode } from '@stevedore/image';
import { manifestDescriptor } from '@stevedore/manifest';
import { listOciLayoutReferrers, listOciLayoutTags } from '@stevedore/transport-oci';
import { fakeLayer, smallImage, testConfig } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyError, copy, readSource } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-referrers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A manifest whose `subject` is `subject`, marked with an annotation saying what it is. */
async function referrerOf(subject: ImageNode, kind: string): Promise<Image> {
  return assembleImage(testConfig, [await fakeLayer(`${kind} of ${subject.manifest.digest}`)], {
    subject: manifestDescriptor(subject.manifest),
    annotations: { 'org.example.kind': kind },
  });
}

/** A two-platform index in `oci:<root>/source:v1` with referrers of its parts, and an unrelated one. */
async function sourceWithReferrers() {
  const amd = await smallImage('amd', 'amd64');
  const arm = await smallImage('arm', 'arm64');
  const index = await assembleIndex([amd, arm]);
  const source = join(root, 'source');
  await copy(index, `oci:${source}:v1`, { all: true });
  const indexSbom = await referrerOf(index, 'sbom');
  const amdSignature = await referrerOf(amd, 'signature');
  const sbomSignature = await referrerOf(indexSbom, 'signature'); // a referrer of a referrer
  const other = await smallImage('other');
  const otherSignature = await referrerOf(other, 'signature');
  await copy(other, `oci:${source}:other`);
  for (const referrer of [indexSbom, amdSignature, sbomSignature, otherSignature]) {
    await copy(referrer, `oci:${source}`); // untagged, as oras stores them
  }
  return { source, index, amd, arm, indexSbom, amdSignature, sbomSignature, otherSignature };
}

const digestOf = (node: ImageNode) => node.manifest.digest.toString();

describe('listOciLayoutReferrers', () => {
  it('finds the manifests of a layout whose subject is a digest, filtered by artifactType', async () => {
    const { source, index, amd, arm, indexSbom, amdSignature } = await sourceWithReferrers();
    const [listed] = await listOciLayoutReferrers(source, digestOf(index));
    expect(listed).toEqual({
      mediaType: indexSbom.manifest.mediaType,
      digest: digestOf(indexSbom),
      size: indexSbom.manifest.size,
      artifactType: 'application/vnd.oci.image.config.v1+json',
      annotations: { 'org.example.kind': 'sbom' },
    });
    expect((await listOciLayoutReferrers(source, digestOf(amd))).map((entry) => entry.digest)).toEqual([
      digestOf(amdSignature),
    ]);
    expect(await listOciLayoutReferrers(source, digestOf(arm))).toEqual([]);
    expect(await listOciLayoutReferrers(source, digestOf(amd), { artifactType: 'other/type' })).toEqual([]);
  });

  it('reads only OCI manifests and indexes: an entry of another type is not opened', async () => {
    const { source, amd, amdSignature } = await sourceWithReferrers();
    const indexFile = join(source, 'index.json');
    const layoutIndex = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: unknown[] };
    // Its blob is not in the layout: reading it would fail.
    layoutIndex.manifests.push({
      mediaType: 'application/vnd.example.thing',
      digest: `sha256:${'0'.repeat(64)}`,
      size: 2,
    });
    await writeFile(indexFile, JSON.stringify(layoutIndex));
    expect((await listOciLayoutReferrers(source, digestOf(amd))).map((entry) => entry.digest)).toEqual([
      digestOf(amdSignature),
    ]);
  });
});

describe('copy with referrers: true', () => {
  it('brings the referrers of every manifest copied, and theirs, untagged; none of other images', async () => {
    const { source, index, amd, indexSbom, amdSignature, sbomSignature } = await sourceWithReferrers();
    const out = join(root, 'out');
    const result = await copy(`oci:${source}:v1`, `oci:${out}:v1`, { all: true, referrers: true });
    expect(result.digest).toBe(digestOf(index));
    expect([...(result.referrers ?? [])].sort()).toEqual(
      [indexSbom, amdSignature, sbomSignature].map(digestOf).sort(),
    );
    expect(await listOciLayoutTags(out)).toEqual(['v1']);
    expect((await listOciLayoutReferrers(out, digestOf(index))).map((entry) => entry.digest)).toEqual([
      digestOf(indexSbom),
    ]);
    expect((await listOciLayoutReferrers(out, digestOf(amd))).map((entry) => entry.digest)).toEqual([
      digestOf(amdSignature),
    ]);
    expect((await listOciLayoutReferrers(out, digestOf(indexSbom))).map((entry) => entry.digest)).toEqual([
      digestOf(sbomSignature),
    ]);
    // Each referrer arrived whole, with its bytes unchanged.
    const read = await readSource({ transport: 'oci', path: out, tag: 'v1' });
    expect(digestOf(read)).toBe(digestOf(index));
    const again = await copy(`oci:${source}:v1`, `oci:${out}:v1`, { all: true, referrers: true });
    expect([...(again.referrers ?? [])].sort()).toEqual(result.referrers ? [...result.referrers].sort() : []);
  });

  it('brings only the referrers of the platform copied', async () => {
    const { source, amd, amdSignature } = await sourceWithReferrers();
    const out = join(root, 'out');
    const result = await copy(`oci:${source}:v1`, `oci:${out}:v1`, {
      platform: 'linux/amd64',
      referrers: true,
    });
    expect(result.digest).toBe(digestOf(amd));
    expect(result.referrers).toEqual([digestOf(amdSignature)]);
  });

  it('copies no referrers without the option', async () => {
    const { source, amd } = await sourceWithReferrers();
    const out = join(root, 'out');
    const result = await copy(`oci:${source}:v1`, `oci:${out}:v1`, { all: true });
    expect(result.referrers).toBeUndefined();
    expect(await listOciLayoutReferrers(out, digestOf(amd))).toEqual([]);
  });

  it('refuses endpoints that hold no referrers before copying anything', async () => {
    const { source, index } = await sourceWithReferrers();
    for (const [from, to] of [
      [`oci:${source}:v1`, `dir:${join(root, 'dir')}`],
      [`oci:${source}:v1`, `oci-archive:${join(root, 'out.tar')}:v1`],
      [index, `oci:${join(root, 'layout')}:v1`],
    ] as const) {
      const copying = copy(from, to, { all: true, referrers: true });
      await expect(copying).rejects.toBeInstanceOf(CopyError);
      await expect(copying).rejects.toMatchObject({ code: 'ERR_REFERRERS_UNSUPPORTED' });
    }
    for (const name of ['dir', 'out.tar', 'layout']) {
      await expect(stat(join(root, name))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});
