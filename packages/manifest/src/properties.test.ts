// Property tests: parse → serialize → parse is stable, and no input escapes as anything
// but a typed ManifestError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ImageIndex,
  type ImageManifest,
  ManifestError,
  MediaTypes,
  parseManifest,
  serializeManifest,
} from './index.ts';

const hex64 = fc
  .array(fc.constantFrom(...'0123456789abcdef'), { minLength: 64, maxLength: 64 })
  .map((chars) => `sha256:${chars.join('')}`);
const token = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,20}$/);
const mediaType = fc.oneof(
  fc.constantFrom(...Object.values(MediaTypes)),
  fc.tuple(token, token).map(([type, subtype]) => `${type}/${subtype}`),
);
const annotations = fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
  maxKeys: 4,
});
const platform = fc.record(
  {
    os: fc.constantFrom('linux', 'windows', 'unknown'),
    architecture: fc.constantFrom('amd64', 'arm64', 'arm', 's390x'),
    variant: fc.constantFrom('v6', 'v7', 'v8'),
    'os.version': fc.string({ maxLength: 12 }),
    'os.features': fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
  },
  { requiredKeys: ['os', 'architecture'] },
);
const descriptor = fc.record(
  {
    mediaType,
    digest: hex64,
    size: fc.maxSafeNat(),
    urls: fc.array(fc.webUrl(), { maxLength: 2 }),
    annotations,
    artifactType: mediaType,
    // an unknown extension field must survive
    'org.example.extra': fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);
const manifest: fc.Arbitrary<ImageManifest> = fc.record(
  {
    schemaVersion: fc.constant(2 as const),
    mediaType: fc.constant(MediaTypes.OciManifest),
    artifactType: mediaType,
    config: descriptor,
    layers: fc.array(descriptor, { maxLength: 5 }),
    subject: descriptor,
    annotations,
  },
  { requiredKeys: ['schemaVersion', 'config', 'layers'] },
);
const index: fc.Arbitrary<ImageIndex> = fc.record(
  {
    schemaVersion: fc.constant(2 as const),
    mediaType: fc.constantFrom(MediaTypes.OciIndex, MediaTypes.DockerManifestList),
    manifests: fc.array(
      fc.tuple(descriptor, platform).map(([entry, p]) => ({ ...entry, platform: p })),
      { maxLength: 5 },
    ),
    annotations,
  },
  { requiredKeys: ['schemaVersion', 'manifests', 'mediaType'] },
);

function expectTypedError(error: unknown): void {
  expect(ManifestError.is(error, ['ERR_MANIFEST_INVALID', 'ERR_UNSUPPORTED_MEDIA_TYPE'])).toBe(true);
}

describe('manifest properties', () => {
  it('parse → serialize → parse keeps the document and the digest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(manifest, index), async (json) => {
        const text = JSON.stringify(json);
        const first = await parseManifest(text);
        // Compare with the JSON value of the document (JSON has no -0, for one).
        expect(first.json).toEqual(JSON.parse(text));
        const bytes = serializeManifest(first.json as ImageManifest | ImageIndex);
        const second = await parseManifest(bytes);
        expect(second.json).toEqual(first.json);
        expect(second.digest.equals(first.digest)).toBe(true);
        expect(second.kind).toBe(first.kind);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes are refused with a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        await parseManifest(bytes).then(
          () => expect.unreachable('random bytes parsed'),
          (error) => expectTypedError(error),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('random JSON either parses or is refused with a typed error', async () => {
    const shaped = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom(
          'schemaVersion',
          'mediaType',
          'config',
          'layers',
          'manifests',
          'fsLayers',
          'subject',
          'annotations',
        ),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      fc
        .oneof(manifest, index)
        .chain((json) =>
          fc
            .tuple(fc.constantFrom(...Object.keys(json)), fc.jsonValue({ maxDepth: 2 }))
            .map(([key, value]) => ({ ...json, [key]: value })),
        ),
    );
    await fc.assert(
      fc.asyncProperty(shaped, async (value) => {
        try {
          const parsed = await parseManifest(JSON.stringify(value));
          expect(parsed.raw.byteLength).toBe(parsed.size);
        } catch (error) {
          expectTypedError(error);
        }
      }),
      { numRuns: 500 },
    );
  });
});
