import { readFile } from 'node:fs/promises';
import { computeDigest } from '@stevedore/digest';
import { describe, expect, it } from 'vitest';
import {
  type ImageManifest,
  indexManifests,
  MAX_MANIFEST_SIZE,
  ManifestError,
  MediaTypes,
  manifestConfig,
  manifestDescriptor,
  manifestDigest,
  manifestKind,
  manifestLayers,
  manifestReferences,
  type ParsedImageManifest,
  parseManifest,
  serializeManifest,
} from './index.ts';

const fixtureBytes = (name: string) => readFile(new URL(`../test/fixtures/${name}`, import.meta.url));
const fixture = async (name: string, contentType?: string) =>
  parseManifest(await fixtureBytes(name), contentType);

const D = (char: string) => `sha256:${char.repeat(64)}`;
const ociManifest = (overrides: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: MediaTypes.OciManifest,
  config: { mediaType: MediaTypes.OciConfig, digest: D('a'), size: 10 },
  layers: [{ mediaType: MediaTypes.OciLayerGzip, digest: D('b'), size: 20 }],
  ...overrides,
});

async function rejection(input: unknown, contentType?: string): Promise<ManifestError> {
  const raw = typeof input === 'string' || input instanceof Uint8Array ? input : JSON.stringify(input);
  try {
    await parseManifest(raw, contentType);
  } catch (error) {
    expect(ManifestError.is(error)).toBe(true);
    return error as ManifestError;
  }
  throw new Error(`expected ${String(raw).slice(0, 60)} to be rejected`);
}

describe('parseManifest: known digests of real manifests', () => {
  it.each([
    [
      'docker-manifest-list-arm.json',
      'sha256:82d1e9d7ed48a7523bdebc18cf6290bdb97b82302a8a9c27d4fe885949ea94d1',
      'index',
      MediaTypes.DockerManifestList,
    ],
    [
      'docker-manifest-list-fedora33.json',
      'sha256:aa889c59fc048b597dcfab40898ee3fcaad9ed61caf12bcfef44493ee670e9df',
      'index',
      MediaTypes.DockerManifestList,
    ],
    [
      'dockerhub-index-attestations.json',
      'sha256:f4c66b820c6f974249089d3d16d86a3698eae11e8746eb6644b2271031e91232',
      'index',
      MediaTypes.OciIndex,
    ],
    [
      'docker-v2s2-manifest-alpine-3.18.2-amd64.json',
      'sha256:25fad2a32ad1f6f510e528448ae1ec69a28ef81916a004d3629874104f8a7f70',
      'manifest',
      MediaTypes.DockerManifest,
    ],
    [
      'oci-artifact-manifest-subject.json',
      'sha256:fd90fc9bbcdaace19655b8983e3d4efa946332f8c1f1aac40ac5bead09bdf9c9',
      'manifest',
      MediaTypes.OciManifest,
    ],
    [
      'oci-referrers-index-artifacttype.json',
      'sha256:a39a515fb72925723bb37fb46a7ff893444cfb22defa65646d5e15cf006fcbf3',
      'index',
      MediaTypes.OciIndex,
    ],
  ])('%s has digest %s', async (name, digest, kind, mediaType) => {
    const bytes = await fixtureBytes(name);
    const manifest = await parseManifest(bytes);
    expect(manifest.digest.toString()).toBe(digest);
    expect(manifestKind(manifest)).toBe(kind);
    expect(manifest.mediaType).toBe(mediaType);
    expect(manifest.size).toBe(bytes.byteLength);
    expect(manifest.raw).toEqual(new Uint8Array(bytes));
    expect((await manifestDigest(bytes)).toString()).toBe(digest);
  });

  it('the alpine list names the digest of the amd64 manifest fixture', async () => {
    const list = await fixture('docker-manifest-list-arm.json');
    const amd64 = await fixture('docker-v2s2-manifest-alpine-3.18.2-amd64.json');
    expect(indexManifests(list)[0]).toMatchObject(manifestDescriptor(amd64));
  });

  it('a Docker schema 2 manifest (fedora amd64) names its config blob (docker-config.json) by digest', async () => {
    const manifest = await fixture('docker-v2s2-manifest.json');
    expect(manifest.mediaType).toBe(MediaTypes.DockerManifest);
    const config = await fixtureBytes('docker-config.json');
    expect(manifestConfig(manifest)).toEqual({
      mediaType: MediaTypes.DockerConfig,
      size: config.byteLength,
      digest: (await computeDigest(config)).toString(),
    });
  });

  it('names the content each kind of manifest needs: index children, config and layers, schema 1 layers', async () => {
    const list = await fixture('docker-manifest-list-arm.json');
    expect(manifestReferences(list)).toEqual(indexManifests(list));
    const image = await fixture('docker-v2s2-manifest.json');
    expect(manifestReferences(image)).toEqual([manifestConfig(image), ...manifestLayers(image)]);
    expect(manifestReferences(image).length).toBeGreaterThan(1);
    const schema1 = await parseManifest(await fixtureBytes('schema1-signed.json'));
    expect(manifestReferences(schema1)).toEqual(manifestLayers(schema1));
  });

  it('signed schema 1: digest over the JWS payload, as registries compute it (library/debian:6)', async () => {
    const bytes = await fixtureBytes('schema1-signed.json');
    const manifest = await parseManifest(bytes);
    const expected = 'sha256:f3ef067962554c3352dc0c659ca563f73cc396fe0dea2a2c23a7964c6290f782';
    expect(manifest.digest.toString()).toBe(expected);
    expect((await computeDigest(bytes)).toString()).not.toBe(expected);
    expect((await manifestDigest(bytes)).toString()).toBe(expected);
    expect(manifest.mediaType).toBe(MediaTypes.DockerSchema1SignedManifest);
    expect(manifest.format).toBe('schema1');
    // fsLayers lists the top layer first; descriptors go bottom first, sizes unknown.
    expect(manifestLayers(manifest)).toEqual([
      {
        mediaType: MediaTypes.DockerLayerGzip,
        digest: 'sha256:069873d23334d65630bbe5e303ced0c68181b694c7f5506b54bf5d8115b5af20',
        size: -1,
      },
      {
        mediaType: MediaTypes.DockerLayerGzip,
        digest: 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4',
        size: -1,
      },
    ]);
    expect(() => manifestConfig(manifest)).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' }),
    );
  });

  it('unsigned schema 1: digest over the bytes', async () => {
    const signed = JSON.parse((await fixtureBytes('schema1-signed.json')).toString());
    delete signed.signatures;
    const text = JSON.stringify(signed);
    const manifest = await parseManifest(text);
    expect(manifest.mediaType).toBe(MediaTypes.DockerSchema1Manifest);
    expect(manifest.digest.toString()).toBe((await computeDigest(new TextEncoder().encode(text))).toString());
  });

  it('schema 1: layers marked "throwaway" are not layers', async () => {
    const signed = JSON.parse((await fixtureBytes('schema1-signed.json')).toString());
    delete signed.signatures;
    const top = JSON.parse(signed.history[0].v1Compatibility);
    signed.history[0].v1Compatibility = JSON.stringify({ ...top, throwaway: true });
    const layers = manifestLayers(await parseManifest(JSON.stringify(signed)));
    expect(layers.map((layer) => layer.digest)).toEqual([signed.fsLayers[1].blobSum]);
  });

  it('schema 1: history must be one JSON object per layer', async () => {
    const signed = JSON.parse((await fixtureBytes('schema1-signed.json')).toString());
    delete signed.signatures;
    expect((await rejection({ ...signed, history: signed.history.slice(1) })).path).toBe('$.history');
    signed.history[1].v1Compatibility = '{not json';
    expect((await rejection(signed)).path).toBe('$.history[1].v1Compatibility');
  });

  it('schema 1 with tampered signatures is refused', async () => {
    const signed = JSON.parse((await fixtureBytes('schema1-signed.json')).toString());
    signed.signatures[0].protected = 'not*base64';
    expect((await rejection(signed)).path).toBe('$.signatures[0].protected');
    const base64url = (text: string) =>
      btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    signed.signatures[0].protected = base64url(JSON.stringify({ formatLength: 1e9, formatTail: 'Cn0' }));
    expect((await rejection(signed)).path).toBe('$.signatures[0].protected.formatLength');
  });
});

describe('parseManifest: the image-spec examples', () => {
  it('reads the example manifest', async () => {
    const manifest = await fixture('spec-manifest.json');
    expect(manifest.kind).toBe('manifest');
    expect(manifest.format).toBe('oci');
    expect(manifestConfig(manifest)).toMatchObject({ mediaType: MediaTypes.OciConfig, size: 7023 });
    expect(manifestLayers(manifest).map((layer) => layer.size)).toEqual([32654, 16724, 73109]);
    expect((manifest.json as ImageManifest).annotations).toEqual({
      'com.example.key1': 'value1',
      'com.example.key2': 'value2',
    });
    expect(() => indexManifests(manifest)).toThrow(expect.objectContaining({ code: 'ERR_NOT_AN_INDEX' }));
  });

  it('reads the example index, which has no mediaType (sniffed from manifests)', async () => {
    const index = await fixture('spec-index.json');
    expect(index.kind).toBe('index');
    expect(index.mediaType).toBe(MediaTypes.OciIndex);
    expect(indexManifests(index).map((entry) => entry.platform?.architecture)).toEqual(['ppc64le', 'amd64']);
    expect(() => manifestLayers(index)).toThrow(expect.objectContaining({ code: 'ERR_NOT_A_MANIFEST' }));
    expect(() => manifestConfig(index)).toThrow(expect.objectContaining({ code: 'ERR_NOT_A_MANIFEST' }));
  });

  it('reads OCI 1.1 artifacts: artifactType and subject', async () => {
    const referrers = await fixture('oci-referrers-index-artifacttype.json');
    expect(indexManifests(referrers).map((entry) => entry.artifactType)).toEqual([
      'application/example.sbom',
      'application/example.signature',
    ]);
    const artifact = await fixture('oci-artifact-manifest-subject.json');
    expect(artifact.kind === 'manifest' && artifact.format !== 'schema1' && artifact.json.subject?.size).toBe(
      922,
    );
  });
});

describe('parseManifest: media type', () => {
  it('prefers the Content-Type, ignoring parameters and case', async () => {
    const bytes = await fixtureBytes('spec-index.json');
    const manifest = await parseManifest(bytes, 'Application/vnd.oci.image.index.v1+json; charset=utf-8');
    expect(manifest.mediaType).toBe(MediaTypes.OciIndex);
  });

  it('ignores a generic Content-Type and sniffs', async () => {
    const manifest = await parseManifest(
      JSON.stringify(ociManifest({ mediaType: undefined })),
      'application/json',
    );
    expect(manifest.mediaType).toBe(MediaTypes.OciManifest);
  });

  it('sniffs Docker schema 2 from the config media type', async () => {
    const json = ociManifest({
      mediaType: undefined,
      config: { mediaType: MediaTypes.DockerConfig, digest: D('a'), size: 1 },
    });
    expect((await parseManifest(JSON.stringify(json))).mediaType).toBe(MediaTypes.DockerManifest);
  });

  it('refuses a document whose mediaType contradicts the Content-Type', async () => {
    const error = await rejection(ociManifest(), MediaTypes.DockerManifest);
    expect(error.code).toBe('ERR_MANIFEST_INVALID');
    expect(error.path).toBe('$.mediaType');
  });

  it('refuses unknown manifest media types with ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    const error = await rejection(
      ociManifest({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }),
    );
    expect(error.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(error.mediaType).toBe('application/vnd.oci.artifact.manifest.v1+json');
  });

  it('refuses ambiguous documents (CVE-2021-41190)', async () => {
    expect((await rejection(ociManifest({ manifests: [] }))).path).toBe('$.manifests');
    const index = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [], layers: [] };
    expect((await rejection(index)).path).toBe('$.layers');
  });
});

describe('parseManifest: validation names the offending field', () => {
  it.each([
    [ociManifest({ schemaVersion: 1 }), '$.schemaVersion'],
    [ociManifest({ schemaVersion: '2' }), '$.schemaVersion'],
    [ociManifest({ config: undefined }), '$.config'],
    [ociManifest({ config: [] }), '$.config'],
    [ociManifest({ layers: {} }), '$.layers'],
    [ociManifest({ layers: [null] }), '$.layers[0]'],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: 'sha256:xyz', size: 1 }] }),
      '$.layers[0].digest',
    ],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: -1 }] }),
      '$.layers[0].size',
    ],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: 1.5 }] }),
      '$.layers[0].size',
    ],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: 2 ** 53 }] }),
      '$.layers[0].size',
    ],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: '1' }] }),
      '$.layers[0].size',
    ],
    [
      ociManifest({ layers: [{ mediaType: 'not a type', digest: D('c'), size: 1 }] }),
      '$.layers[0].mediaType',
    ],
    [ociManifest({ layers: [{ digest: D('c'), size: 1 }] }), '$.layers[0].mediaType'],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: 1, urls: 'x' }] }),
      '$.layers[0].urls',
    ],
    [
      ociManifest({ layers: [{ mediaType: MediaTypes.OciLayer, digest: D('c'), size: 1, urls: [1] }] }),
      '$.layers[0].urls[0]',
    ],
    [ociManifest({ annotations: { 'org.example': 1 } }), '$.annotations["org.example"]'],
    [ociManifest({ annotations: [] }), '$.annotations'],
    [ociManifest({ artifactType: 42 }), '$.artifactType'],
    [ociManifest({ subject: { mediaType: MediaTypes.OciManifest, digest: D('d') } }), '$.subject.size'],
    [
      {
        schemaVersion: 2,
        mediaType: MediaTypes.OciIndex,
        manifests: [
          { mediaType: MediaTypes.OciManifest, digest: D('e'), size: 1, platform: { os: 'linux' } },
        ],
      },
      '$.manifests[0].platform.architecture',
    ],
    [
      {
        schemaVersion: 2,
        mediaType: MediaTypes.OciIndex,
        manifests: [
          {
            mediaType: MediaTypes.OciManifest,
            digest: D('e'),
            size: 1,
            platform: { os: 'linux', architecture: 'amd64', 'os.features': 'x' },
          },
        ],
      },
      '$.manifests[0].platform["os.features"]',
    ],
    [{ schemaVersion: 2, mediaType: MediaTypes.OciIndex }, '$.manifests'],
    [{ schemaVersion: 2 }, '$'],
    [[], '$'],
    ['"a string"', '$'],
    ['{"schemaVersion": 2,', '$'],
    [new Uint8Array([0x7b, 0xff, 0x7d]), '$'],
  ])('%# rejects %o', async (input, path) => {
    const error = await rejection(input);
    expect(error.code).toBe('ERR_MANIFEST_INVALID');
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it('checks embedded data against size and digest', async () => {
    const data = new TextEncoder().encode('{}');
    const digest = (await computeDigest(data)).toString();
    const config = { mediaType: MediaTypes.OciEmpty, digest, size: 2, data: btoa('{}') };
    const manifest = await parseManifest(
      JSON.stringify(ociManifest({ config, artifactType: 'application/x.test' })),
    );
    expect(manifestConfig(manifest).data).toBe('e30=');
    expect((await rejection(ociManifest({ config: { ...config, size: 3 } }))).path).toBe('$.config.data');
    expect((await rejection(ociManifest({ config: { ...config, digest: D('f') } }))).path).toBe(
      '$.config.data',
    );
    expect((await rejection(ociManifest({ config: { ...config, data: 'e30' } }))).path).toBe('$.config.data');
  });

  it('refuses manifests over 4 MiB before parsing them', async () => {
    const big = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x20);
    const error = await rejection(big);
    expect(error.code).toBe('ERR_MANIFEST_TOO_LARGE');
    expect(error.limit).toBe(MAX_MANIFEST_SIZE);
    // exactly 4 MiB is allowed (padding with JSON whitespace)
    const text = JSON.stringify(ociManifest());
    const atLimit = new Uint8Array(MAX_MANIFEST_SIZE).fill(0x20);
    atLimit.set(new TextEncoder().encode(text));
    expect((await parseManifest(atLimit)).size).toBe(MAX_MANIFEST_SIZE);
  });

  it('throws TypeError for arguments of the wrong type', async () => {
    await expect(parseManifest(42 as unknown as string)).rejects.toThrow(TypeError);
    await expect(parseManifest('{}', 42 as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe('parseManifest: results are immutable and round-trip safe', () => {
  it('copies the input and freezes the document', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(ociManifest()));
    const manifest = await parseManifest(bytes);
    bytes[0] = 0x20;
    expect(manifest.raw[0]).toBe(0x7b);
    expect(Object.isFrozen(manifest)).toBe(true);
    expect(Object.isFrozen(manifest.json)).toBe(true);
    expect(Object.isFrozen(manifestLayers(manifest)[0])).toBe(true);
  });

  it('keeps unknown fields through parse → change → serialize → parse', async () => {
    const json = ociManifest({
      'org.example.extension': { nested: [1, 2, 3] },
      layers: [{ mediaType: MediaTypes.OciLayerGzip, digest: D('b'), size: 20, 'x-unknown': true }],
    });
    const manifest = (await parseManifest(JSON.stringify(json))) as ParsedImageManifest;
    const changed = { ...manifest.json, annotations: { 'org.opencontainers.image.title': 'changed' } };
    const reparsed = await parseManifest(serializeManifest(changed));
    expect(reparsed.json).toMatchObject({ 'org.example.extension': { nested: [1, 2, 3] } });
    expect(manifestLayers(reparsed)[0]).toHaveProperty('x-unknown', true);
    expect(reparsed.digest.equals(manifest.digest)).toBe(false);
    // serializing an unchanged document gives the same bytes back when they were compact
    expect(new TextDecoder().decode(serializeManifest(manifest.json as never))).toBe(JSON.stringify(json));
  });
});
