// Docker image manifest v2, schema 1: recognized for reading only. Its digest is over the
// JWS payload, the manifest without its "signatures" member, which libtrust records in
// each signature's protected header as formatLength (bytes kept) and formatTail (base64url
// of the bytes that replace the rest).
import { decodeBase64Url } from './base64.ts';
import type { Descriptor } from './descriptor.ts';
import { child, type JsonFields, type JsonObject } from './json-fields.ts';
import type { Schema1Manifest } from './manifest.ts';
import { MediaTypes } from './media-types.ts';

/** @internal */
export function readSchema1(fields: JsonFields, object: JsonObject): Schema1Manifest {
  if (object.schemaVersion !== 1)
    fields.fail('$.schemaVersion', 'expected 1 for a schema 1 manifest', object.schemaVersion);
  for (const key of ['name', 'tag', 'architecture']) fields.string(object, key, '$');
  const layers = fields.array(object, 'fsLayers', '$');
  layers.forEach((layer, index) => {
    fields.digest(fields.object(layer, `$.fsLayers[${index}]`), 'blobSum', `$.fsLayers[${index}]`);
  });
  const history = fields.array(object, 'history', '$');
  if (history.length !== layers.length) {
    fields.fail('$.history', `expected one entry per fsLayers entry (${layers.length})`, history.length);
  }
  history.forEach((entry, index) => {
    const path = `$.history[${index}]`;
    const text = fields.string(fields.object(entry, path), 'v1Compatibility', path);
    try {
      fields.object(JSON.parse(text), child(path, 'v1Compatibility'));
    } catch (cause) {
      if (!(cause instanceof SyntaxError)) throw cause;
      fields.fail(child(path, 'v1Compatibility'), 'expected a JSON object in a string', text, cause);
    }
  });
  fields.optionalArray(object, 'signatures', '$');
  return object as unknown as Schema1Manifest;
}

/**
 * The bytes a schema 1 manifest's digest is computed over: the JWS payload when signed,
 * otherwise the bytes themselves.
 * @internal
 */
export function schema1Payload(fields: JsonFields, raw: Uint8Array, object: JsonObject): Uint8Array {
  const signatures = object.signatures;
  if (!Array.isArray(signatures) || signatures.length === 0) return raw;
  let payload: Uint8Array | undefined;
  signatures.forEach((signature, index) => {
    const path = `$.signatures[${index}]`;
    const encoded = fields.string(fields.object(signature, path), 'protected', path);
    const header = decodeBase64Url(encoded);
    let parsed: unknown;
    try {
      parsed = header === undefined ? undefined : JSON.parse(new TextDecoder().decode(header));
    } catch {
      parsed = undefined;
    }
    const headerPath = child(path, 'protected');
    if (parsed === undefined) fields.fail(headerPath, 'expected base64url-encoded JSON', encoded);
    const protectedHeader = fields.object(parsed, headerPath);
    const length = protectedHeader.formatLength;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > raw.length) {
      fields.fail(`${headerPath}.formatLength`, `expected an integer from 0 to ${raw.length}`, length);
    }
    const tailText = fields.string(protectedHeader, 'formatTail', headerPath);
    const tail =
      decodeBase64Url(tailText) ?? fields.fail(`${headerPath}.formatTail`, 'expected base64url', tailText);
    const candidate = new Uint8Array(length + tail.length);
    candidate.set(raw.subarray(0, length));
    candidate.set(tail, length);
    if (payload !== undefined && !sameBytes(payload, candidate)) {
      fields.fail(headerPath, 'signatures disagree about the signed payload');
    }
    payload = candidate;
  });
  return payload ?? raw;
}

/**
 * The layers of a schema 1 manifest as descriptors, bottom first, without the empty
 * "throwaway" layers. Schema 1 records no sizes, so `size` is -1 (unknown).
 * @internal
 */
export function schema1Layers(manifest: Schema1Manifest): Descriptor[] {
  const layers: Descriptor[] = [];
  for (let index = manifest.fsLayers.length - 1; index >= 0; index--) {
    const v1 = JSON.parse(manifest.history[index]?.v1Compatibility ?? '{}') as { throwaway?: unknown };
    if (v1.throwaway === true) continue;
    const blobSum = manifest.fsLayers[index]?.blobSum ?? '';
    layers.push({ mediaType: MediaTypes.DockerLayerGzip, digest: blobSum, size: -1 });
  }
  return layers;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
