import { computeDigest, type Digest } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { type Descriptor, mediaTypeField, readDescriptor, verifyDescriptorData } from './descriptor.ts';
import { ManifestError } from './errors.ts';
import { deepFreeze, JsonFields, type JsonObject, ownBytes, parseJsonText } from './json-fields.ts';
import type { ImageIndex, ImageManifest, Manifest, Schema1Manifest } from './manifest.ts';
import { isIndexMediaType, isManifestMediaType, MediaTypes, parseContentType } from './media-types.ts';
import { readSchema1, schema1Payload } from './schema1.ts';

/** The largest manifest Stevedore accepts: 4 MiB, the limit registries apply (distribution-spec). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

const fields = new JsonFields('ERR_MANIFEST_INVALID');

/**
 * Parses and validates a manifest or index, keeping its exact bytes and computing its
 * digest over them (for signed schema 1, over the JWS payload, as registries do).
 *
 * The media type comes from `contentType` (a registry's `Content-Type`) when that names a
 * manifest type, else from the document's `mediaType`, else from its shape: `manifests`
 * → index, `config` and `layers` → manifest, `fsLayers` → schema 1.
 *
 * @throws {ManifestError} `ERR_MANIFEST_TOO_LARGE` over 4 MiB; `ERR_MANIFEST_INVALID` with the
 *   JSON path of the offending field; `ERR_UNSUPPORTED_MEDIA_TYPE` for a `mediaType` that
 *   is not a manifest or index.
 * @example
 * ```ts
 * const manifest = await parseManifest(bytes, response.headers.get('content-type') ?? undefined);
 * if (manifest.kind === 'index') console.log(indexManifests(manifest).length, 'platforms');
 * ```
 */
export async function parseManifest(raw: Uint8Array | string, contentType?: string): Promise<Manifest> {
  if (raw instanceof Uint8Array) checkManifestSize(raw.byteLength); // before copying it
  const bytes = ownBytes(raw, 'parseManifest');
  if (typeof raw === 'string') checkManifestSize(bytes.byteLength);
  if (contentType !== undefined && typeof contentType !== 'string') {
    throw new TypeError(`parseManifest: contentType must be a string, got ${typeof contentType}`);
  }
  const object = fields.object(parseJsonText(fields, bytes), '$');
  const mediaType = manifestMediaType(object, contentType);

  if (
    mediaType === MediaTypes.DockerSchema1Manifest ||
    mediaType === MediaTypes.DockerSchema1SignedManifest
  ) {
    const json = readSchema1(fields, object);
    const digest = await computeDigest(schema1Payload(fields, bytes, object));
    return parsed({ kind: 'manifest', format: 'schema1', mediaType, json, raw: bytes, digest });
  }

  const format = mediaType === MediaTypes.OciIndex || mediaType === MediaTypes.OciManifest ? 'oci' : 'docker';
  const descriptors: Array<[Descriptor, Uint8Array | undefined, string]> = [];
  const read = (value: unknown, path: string) => {
    const { descriptor, data } = readDescriptor(fields, value, path);
    descriptors.push([descriptor, data, path]);
  };
  if (object.schemaVersion !== 2) fields.fail('$.schemaVersion', 'expected 2', object.schemaVersion);
  mediaTypeField(fields, object, 'artifactType', '$', false);
  fields.optionalStringMap(object, 'annotations', '$');
  if (object.subject !== undefined) read(object.subject, '$.subject');

  let result: Manifest;
  if (isIndexMediaType(mediaType)) {
    // An index with manifest fields is ambiguous: refuse it (CVE-2021-41190).
    for (const key of ['config', 'layers']) {
      if (key in object) fields.fail(`$.${key}`, 'an index must not have this field');
    }
    const entries = fields.array(object, 'manifests', '$');
    for (const [index, entry] of entries.entries()) read(entry, `$.manifests[${index}]`);
    const digest = await computeDigest(bytes);
    result = parsed({
      kind: 'index',
      format,
      mediaType,
      json: object as unknown as ImageIndex,
      raw: bytes,
      digest,
    });
  } else {
    if ('manifests' in object) fields.fail('$.manifests', 'an image manifest must not have this field');
    read(object.config, '$.config');
    const layers = fields.array(object, 'layers', '$');
    for (const [index, entry] of layers.entries()) read(entry, `$.layers[${index}]`);
    const digest = await computeDigest(bytes);
    result = parsed({
      kind: 'manifest',
      format,
      mediaType,
      json: object as unknown as ImageManifest,
      raw: bytes,
      digest,
    });
  }
  for (const [descriptor, data, path] of descriptors) {
    await verifyDescriptorData(fields, descriptor, data, path);
  }
  return result;
}

function checkManifestSize(size: number): void {
  if (size > MAX_MANIFEST_SIZE) {
    throw new ManifestError(
      'ERR_MANIFEST_TOO_LARGE',
      `manifest is ${size} bytes; the limit is ${MAX_MANIFEST_SIZE} (4 MiB)`,
      { limit: MAX_MANIFEST_SIZE, value: size },
    );
  }
}

function parsed<T extends Omit<Manifest, 'size'>>(manifest: T): Manifest {
  deepFreeze(manifest.json);
  return Object.freeze({ ...manifest, size: manifest.raw.byteLength }) as unknown as Manifest;
}

function manifestMediaType(object: JsonObject, contentType: string | undefined): string {
  const declared = mediaTypeField(fields, object, 'mediaType', '$', false);
  const served = contentType === undefined ? undefined : parseContentType(contentType);
  const known = (type: string | undefined) =>
    type !== undefined && (isManifestMediaType(type) || isIndexMediaType(type)) ? type : undefined;

  if (known(served) !== undefined) {
    if (declared !== undefined && declared !== served) {
      fields.fail('$.mediaType', `does not match the Content-Type ${excerpt(served)}`, declared);
    }
    return served as string;
  }
  if (declared !== undefined) {
    if (known(declared) !== undefined) return declared;
    throw new ManifestError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `unsupported manifest media type ${excerpt(declared)}; expected an OCI or Docker manifest or index`,
      { mediaType: declared, path: '$.mediaType' },
    );
  }
  return sniffMediaType(object);
}

function sniffMediaType(object: JsonObject): string {
  if ('manifests' in object) return MediaTypes.OciIndex;
  // An image config also has a "config" member, but not a descriptor with a digest there.
  const config = object.config as { mediaType?: unknown; digest?: unknown } | null | undefined;
  if ('layers' in object || (typeof config === 'object' && config !== null && 'digest' in config)) {
    return config?.mediaType === MediaTypes.DockerConfig ? MediaTypes.DockerManifest : MediaTypes.OciManifest;
  }
  if ('fsLayers' in object || object.schemaVersion === 1) {
    return 'signatures' in object ? MediaTypes.DockerSchema1SignedManifest : MediaTypes.DockerSchema1Manifest;
  }
  return fields.fail('$', 'neither an image manifest (config, layers) nor an index (manifests)');
}

/**
 * The digest of a manifest: of a parsed one, its `digest`; of raw bytes, the sha256 of the
 * bytes, or for a signed Docker schema 1 manifest of its JWS payload.
 *
 * @throws {ManifestError} `ERR_MANIFEST_INVALID` for a signed schema 1 manifest whose
 *   signatures are malformed.
 */
export async function manifestDigest(manifest: Manifest | Uint8Array | string): Promise<Digest> {
  if (typeof manifest === 'object' && !(manifest instanceof Uint8Array)) return manifest.digest;
  const bytes = ownBytes(manifest, 'manifestDigest');
  let object: unknown;
  try {
    object = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return computeDigest(bytes);
  }
  const isSignedSchema1 =
    typeof object === 'object' && object !== null && (object as Partial<Schema1Manifest>).schemaVersion === 1;
  return computeDigest(isSignedSchema1 ? schema1Payload(fields, bytes, object as JsonObject) : bytes);
}

/**
 * Serializes a manifest or index document to the bytes to store or push: compact JSON,
 * members in their order. Parse the result to get its digest.
 */
export function serializeManifest(json: ImageManifest | ImageIndex): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(json));
}
