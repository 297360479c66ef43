import { computeDigest, isComputableAlgorithm } from '@stevedore/digest';
import { decodeBase64 } from './base64.ts';
import { child, type JsonFields, type JsonObject } from './json-fields.ts';
import { isMediaType } from './media-types.ts';
import { type Platform, readPlatform } from './platform.ts';

/**
 * A content descriptor (image-spec, descriptor.md): what a blob or manifest is, its digest
 * and its size, and optionally where else to fetch it, its platform and annotations.
 */
export interface Descriptor {
  readonly mediaType: string;
  /** The digest of the content, `<algorithm>:<encoded>`. */
  readonly digest: string;
  /** The size of the content in bytes. */
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** For entries of an index: the platform the manifest runs on. */
  readonly platform?: Platform;
  /** The type of an artifact, when the descriptor points at one (OCI 1.1). */
  readonly artifactType?: string;
  /** The content itself, embedded as base64 (OCI 1.1). */
  readonly data?: string;
}

/**
 * Checks that `value` is a well-formed descriptor, and decodes its embedded `data`, which
 * {@link verifyDescriptorData} checks against it.
 * @internal
 */
export function readDescriptor(
  fields: JsonFields,
  value: unknown,
  path: string,
): { readonly descriptor: Descriptor; readonly data: Uint8Array | undefined } {
  const object = fields.object(value, path);
  mediaTypeField(fields, object, 'mediaType', path, true);
  fields.digest(object, 'digest', path);
  fields.size(object, 'size', path);
  fields.optionalStringArray(object, 'urls', path);
  fields.optionalStringMap(object, 'annotations', path);
  if (object.platform !== undefined) readPlatform(fields, object.platform, child(path, 'platform'));
  mediaTypeField(fields, object, 'artifactType', path, false);
  const text = fields.optionalString(object, 'data', path);
  const data =
    text === undefined
      ? undefined
      : (decodeBase64(text) ?? fields.fail(child(path, 'data'), 'expected padded base64', text));
  return { descriptor: object as unknown as Descriptor, data };
}

/**
 * Checks that a descriptor's embedded `data`, as decoded by {@link readDescriptor}, is
 * exactly the content it describes (image-spec: "the decoded data MUST be identical to the
 * referenced content").
 * @internal
 */
export async function verifyDescriptorData(
  fields: JsonFields,
  descriptor: Descriptor,
  bytes: Uint8Array | undefined,
  path: string,
): Promise<void> {
  if (bytes === undefined) return;
  if (bytes.byteLength !== descriptor.size) {
    fields.fail(child(path, 'data'), `decodes to ${bytes.byteLength} bytes, but size is ${descriptor.size}`);
  }
  const algorithm = descriptor.digest.slice(0, descriptor.digest.indexOf(':'));
  if (!isComputableAlgorithm(algorithm)) return; // cannot be computed; not an error
  const actual = await computeDigest(bytes, algorithm);
  if (!actual.equals(descriptor.digest)) {
    fields.fail(child(path, 'data'), `decodes to content with digest ${actual}, not ${descriptor.digest}`);
  }
}

/** @internal */
export function mediaTypeField(
  fields: JsonFields,
  object: JsonObject,
  key: string,
  path: string,
  required: boolean,
): string | undefined {
  const value = required ? fields.string(object, key, path) : fields.optionalString(object, key, path);
  if (value !== undefined && !isMediaType(value)) {
    fields.fail(
      child(path, key),
      'expected a media type such as application/vnd.oci.image.manifest.v1+json',
      value,
    );
  }
  return value;
}
