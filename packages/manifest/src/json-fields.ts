// Typed reads of the fields of parsed JSON, failing with the JSON path of the bad field.
import { isDigest } from '@stevedore/digest';
import { invalidField } from './errors.ts';

/** @internal */
export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Reads fields of one JSON document, naming the document kind in its errors.
 * @internal
 */
export class JsonFields {
  readonly #code: 'ERR_MANIFEST_INVALID' | 'ERR_CONFIG_INVALID';

  constructor(code: 'ERR_MANIFEST_INVALID' | 'ERR_CONFIG_INVALID') {
    this.#code = code;
  }

  fail(path: string, reason: string, value?: unknown, cause?: unknown): never {
    throw invalidField(this.#code, path, reason, value, cause);
  }

  object(value: unknown, path: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, 'expected an object', value);
    }
    return value as JsonObject;
  }

  /** An optional field; JSON `null` counts as absent when `nullable`. */
  #optional(object: JsonObject, key: string, nullable: boolean): unknown {
    const value = object[key];
    return value === null && nullable ? undefined : value;
  }

  string(object: JsonObject, key: string, path: string): string {
    const value = object[key];
    if (typeof value !== 'string') this.fail(child(path, key), 'expected a string', value);
    return value;
  }

  optionalString(object: JsonObject, key: string, path: string, nullable = false): string | undefined {
    const value = this.#optional(object, key, nullable);
    if (value !== undefined && typeof value !== 'string') {
      this.fail(child(path, key), 'expected a string', value);
    }
    return value;
  }

  optionalBoolean(object: JsonObject, key: string, path: string, nullable = false): boolean | undefined {
    const value = this.#optional(object, key, nullable);
    if (value !== undefined && typeof value !== 'boolean') {
      this.fail(child(path, key), 'expected a boolean', value);
    }
    return value;
  }

  /** A non-negative safe integer, as sizes are (image-spec: int64, but JSON numbers are doubles). */
  size(object: JsonObject, key: string, path: string): number {
    const value = object[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(child(path, key), 'expected a non-negative integer', value);
    }
    return value;
  }

  optionalInteger(object: JsonObject, key: string, path: string, nullable = false): number | undefined {
    const value = this.#optional(object, key, nullable);
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value))) {
      this.fail(child(path, key), 'expected an integer', value);
    }
    return value;
  }

  digest(object: JsonObject, key: string, path: string): string {
    return this.digestValue(object[key], child(path, key));
  }

  digestValue(value: unknown, path: string): string {
    if (!isDigest(value)) this.fail(path, 'expected a digest <algorithm>:<encoded>', value);
    return value;
  }

  array(object: JsonObject, key: string, path: string): readonly unknown[] {
    const value = object[key];
    if (!Array.isArray(value)) this.fail(child(path, key), 'expected an array', value);
    return value;
  }

  optionalArray(
    object: JsonObject,
    key: string,
    path: string,
    nullable = false,
  ): readonly unknown[] | undefined {
    const value = this.#optional(object, key, nullable);
    if (value !== undefined && !Array.isArray(value)) this.fail(child(path, key), 'expected an array', value);
    return value;
  }

  optionalStringArray(object: JsonObject, key: string, path: string, nullable = false): void {
    const items = this.optionalArray(object, key, path, nullable);
    items?.forEach((item, index) => {
      if (typeof item !== 'string') this.fail(`${child(path, key)}[${index}]`, 'expected a string', item);
    });
  }

  /** An optional object whose values are all strings (annotations, labels). */
  optionalStringMap(object: JsonObject, key: string, path: string, nullable = false): void {
    const value = this.#optional(object, key, nullable);
    if (value === undefined) return;
    const map = this.object(value, child(path, key));
    for (const [name, entry] of Object.entries(map)) {
      if (typeof entry !== 'string') this.fail(child(child(path, key), name), 'expected a string', entry);
    }
  }

  /** An optional object used as a set: `{ "80/tcp": {} }` (ExposedPorts, Volumes). */
  optionalObjectSet(object: JsonObject, key: string, path: string): void {
    const value = this.#optional(object, key, true);
    if (value === undefined) return;
    const set = this.object(value, child(path, key));
    for (const [name, entry] of Object.entries(set)) this.object(entry, child(child(path, key), name));
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * The JSON path of a member: `$.layers`, `$.annotations["org.opencontainers.image.title"]`.
 * @internal
 */
export function child(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8 JSON text, failing at path `$` when it is not.
 * @internal
 */
export function parseJsonText(fields: JsonFields, bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    return fields.fail('$', 'not valid UTF-8', undefined, cause);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    return fields.fail('$', `not JSON (${(cause as Error).message})`, undefined, cause);
  }
}

/**
 * Freezes a parsed JSON value and everything in it.
 * @internal
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * Bytes from bytes (copied, so later changes by the caller cannot reach them) or from text.
 * @internal
 */
export function ownBytes(input: Uint8Array | string, name: string): Uint8Array {
  if (typeof input === 'string') return new TextEncoder().encode(input);
  // new Uint8Array(...) copies; Buffer#slice would share the caller's memory.
  if (input instanceof Uint8Array) return new Uint8Array(input);
  throw new TypeError(`${name}: expected a Uint8Array or a string, got ${typeof input}`);
}
