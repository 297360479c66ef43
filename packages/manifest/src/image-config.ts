import { child, deepFreeze, JsonFields, type JsonObject, ownBytes, parseJsonText } from './json-fields.ts';
import { readPlatform } from './platform.ts';

/** A Docker health check (not part of the OCI config, but kept by every tool). */
export interface HealthConfig {
  readonly Test?: readonly string[] | null;
  /** Nanoseconds. */
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/**
 * The execution parameters of an image (image-spec, config.md, `config`). Docker writes
 * `null` for some empty fields; they are kept as they were.
 */
export interface ImageRuntimeConfig {
  readonly User?: string;
  /** A set of `port/protocol` keys, each with an empty object: `{ "80/tcp": {} }`. */
  readonly ExposedPorts?: Readonly<Record<string, Readonly<Record<string, never>>>> | null;
  /** `NAME=value` entries. */
  readonly Env?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  /** A set of paths, each with an empty object. */
  readonly Volumes?: Readonly<Record<string, Readonly<Record<string, never>>>> | null;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
  readonly Healthcheck?: HealthConfig | null;
  readonly OnBuild?: readonly string[] | null;
  readonly Shell?: readonly string[] | null;
}

/** One entry of an image's history; `empty_layer` entries made no layer. */
export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

/**
 * An image configuration (image-spec, config.md; Docker's container config is a superset).
 * Fields Stevedore does not know are kept: parse, change with spreads, serialize.
 */
export interface ImageConfig {
  /** RFC 3339 time the image was created. */
  readonly created?: string;
  readonly author?: string;
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
  readonly config?: ImageRuntimeConfig | null;
  readonly rootfs: {
    /** Always `layers`. */
    readonly type: string;
    /** The digests of the uncompressed layer tars, bottom layer first. */
    readonly diff_ids: readonly string[];
  };
  readonly history?: readonly HistoryEntry[];
}

const fields = new JsonFields('ERR_CONFIG_INVALID');

/**
 * Parses and validates an image config; the result is frozen and keeps unknown fields.
 *
 * @throws {ManifestError} `ERR_CONFIG_INVALID` with the JSON path of the offending field.
 * @example
 * ```ts
 * const config = parseImageConfig(bytes);
 * const next = { ...config, config: { ...config.config, Env: ['PATH=/bin'] } };
 * ```
 */
export function parseImageConfig(raw: Uint8Array | string): ImageConfig {
  const value = parseJsonText(fields, ownBytes(raw, 'parseImageConfig'));
  return deepFreeze(checkImageConfig(value));
}

/**
 * Validates an image config already parsed from JSON (or built in code) without copying it.
 * @throws {ManifestError} `ERR_CONFIG_INVALID`.
 */
export function checkImageConfig(value: unknown): ImageConfig {
  const object = fields.object(value, '$');
  readPlatform(fields, object, '$');
  fields.optionalString(object, 'created', '$');
  fields.optionalString(object, 'author', '$');
  if (object.config !== undefined && object.config !== null) {
    readRuntimeConfig(fields.object(object.config, '$.config'), '$.config');
  }
  const rootfs = fields.object(object.rootfs, '$.rootfs');
  fields.string(rootfs, 'type', '$.rootfs');
  fields.array(rootfs, 'diff_ids', '$.rootfs').forEach((diffId, index) => {
    fields.digestValue(diffId, `$.rootfs.diff_ids[${index}]`);
  });
  fields.optionalArray(object, 'history', '$')?.forEach((entry, index) => {
    const path = `$.history[${index}]`;
    const item = fields.object(entry, path);
    for (const key of ['created', 'created_by', 'author', 'comment']) fields.optionalString(item, key, path);
    fields.optionalBoolean(item, 'empty_layer', path);
  });
  return object as unknown as ImageConfig;
}

function readRuntimeConfig(config: JsonObject, path: string): void {
  for (const key of ['User', 'WorkingDir', 'StopSignal']) fields.optionalString(config, key, path, true);
  for (const key of ['Env', 'Entrypoint', 'Cmd', 'OnBuild', 'Shell']) {
    fields.optionalStringArray(config, key, path, true);
  }
  fields.optionalObjectSet(config, 'ExposedPorts', path);
  fields.optionalObjectSet(config, 'Volumes', path);
  fields.optionalStringMap(config, 'Labels', path, true);
  fields.optionalBoolean(config, 'ArgsEscaped', path, true);
  if (config.Healthcheck !== undefined && config.Healthcheck !== null) {
    const healthPath = child(path, 'Healthcheck');
    const health = fields.object(config.Healthcheck, healthPath);
    fields.optionalStringArray(health, 'Test', healthPath, true);
    for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
      fields.optionalInteger(health, key, healthPath);
    }
  }
}

/** Serializes an image config to the bytes of its blob: compact JSON, members in their order. */
export function serializeImageConfig(config: ImageConfig): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config));
}
