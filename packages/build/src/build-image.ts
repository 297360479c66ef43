import { type Compression, decompress, type TarEntryInput, writeTar } from '@stevedore/archive';
import type { ByteSource } from '@stevedore/digest';
import {
  assembleImage,
  type BlobSink,
  type CreatedLayer,
  createLayer,
  defaultBlobSink,
  type Image,
  type ImageFormat,
  isImageConfig,
  type Layer,
  type RuntimeConfig,
  runtimeConfigOf,
} from '@stevedore/image';
import { type HistoryEntry, type ImageConfig, type Platform, parsePlatform } from '@stevedore/manifest';
import { filesystem } from '#filesystem';
import type { BuildEventHandler } from './build-event.ts';
import { BuildError } from './errors.ts';

/**
 * What a layer is made from: an uncompressed (or gzip/zstd-compressed) tar as bytes or a
 * stream, a list of archive entries, or a path to a directory or a tar file (Node).
 */
export type LayerInput = ByteSource | readonly TarEntryInput[] | string;

/** Options shared by every build. */
export interface BuildOptions {
  /** `'linux/arm64/v8'` or a platform object; default `linux/amd64` (builds do not depend on the host). */
  readonly platform?: string | Platform;
  /** `oci` (default) or `docker`. */
  readonly format?: ImageFormat;
  /** Layer compression: `gzip` (default), `zstd` (OCI only) or `none`. */
  readonly compression?: Compression;
  /** The compression level; the codec's default when absent. */
  readonly level?: number;
  /** The image's creation time; default the `sourceDateEpoch`, else the Unix epoch. */
  readonly created?: Date | string;
  /** Seconds since the Unix epoch used for every file's mtime (clamped); default 0. */
  readonly sourceDateEpoch?: number;
  /** Manifest annotations (OCI only). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The tag writers use when none is given. */
  readonly tag?: string;
  /** Keep files' uid and gid from directories instead of 0. */
  readonly preserveOwnership?: boolean;
  /**
   * Where layer blobs are kept: a directory (Node). By default (neither this nor
   * `blobSink`) they go to one fresh temporary directory per build in Node, which is
   * left for the OS to clean (the image reads its layers from there), or to memory
   * elsewhere.
   */
  readonly blobDirectory?: string;
  /** Where layer blobs are written instead (memory, an OCI layout…); wins over `blobDirectory`. */
  readonly blobSink?: BlobSink;
  readonly onEvent?: BuildEventHandler;
  readonly signal?: AbortSignal;
}

/**
 * Builds an image from layer inputs (bottom first) and a config, without a daemon. The
 * same inputs give the same digests: entries sorted, timestamps zeroed (or the epoch),
 * ownership zeroed, fixed compression settings. Layers stream from input to blob.
 *
 * @param config a whole image config, or the runtime shorthand (`{ entrypoint, cmd, env, … }`).
 * @throws {BuildError} `ERR_UNSUPPORTED_MEDIA_TYPE` for zstd in the Docker format,
 *   `ERR_READ_FAILED` naming an unreadable path, `ERR_LAYER_INPUT_INVALID`.
 * @example
 * ```ts
 * const image = await buildImage(['./rootfs'], { entrypoint: ['/app'] }, { platform: 'linux/arm64' });
 * ```
 */
export async function buildImage(
  layerInputs: readonly LayerInput[],
  config: ImageConfig | RuntimeConfig,
  options: BuildOptions = {},
): Promise<Image> {
  checkFormat(options);
  // One sink for the whole build: its layers share one temporary directory.
  const withSink = await withBlobSink(options);
  const layers: Layer[] = [];
  for (const input of layerInputs) layers.push(await buildLayer(input, withSink));
  return imageFromLayers(layers, config, options);
}

/**
 * Builds one layer from an input: entries and directories go through the tar writer,
 * tars are decompressed when they are compressed; then one pass hashes and compresses.
 * @throws {BuildError} as {@link buildImage}.
 */
export async function buildLayer(input: LayerInput, options: BuildOptions = {}): Promise<Layer> {
  checkFormat(options);
  return layerFromTar(await tarOf(input, options), options);
}

/**
 * The options with the sink a build writes to: the caller's, or the default one made
 * once here (a fresh temporary directory in Node unless `blobDirectory` names one), so
 * every layer of one build goes to the same place.
 * @internal
 */
export async function withBlobSink(options: BuildOptions): Promise<BuildOptions & { blobSink: BlobSink }> {
  const { blobSink } = options;
  return blobSink === undefined
    ? { ...options, blobSink: await defaultBlobSink(options.blobDirectory) }
    : { ...options, blobSink };
}

/** @internal */
export async function layerFromTar(tar: AsyncIterable<Uint8Array>, options: BuildOptions): Promise<Layer> {
  const { blobSink: sink } = await withBlobSink(options);
  return createLayer(tar, {
    sink,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.compression === undefined ? {} : { compression: options.compression }),
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.onEvent === undefined
      ? {}
      : { onCreated: (layer: CreatedLayer) => options.onEvent?.({ type: 'layer', ...layer }) }),
  });
}

/**
 * The image for built layers: the config (whole, or from the shorthand and the platform),
 * one history entry per layer, then `assembleImage`.
 * @internal
 */
export async function imageFromLayers(
  layers: readonly Layer[],
  config: ImageConfig | RuntimeConfig,
  options: BuildOptions,
): Promise<Image> {
  const created = createdTime(options);
  const base = baseConfig(config, options, created);
  const history: HistoryEntry[] = [
    ...(base.history ?? []),
    ...layers.map(() => ({ created, created_by: 'stevedore build' })),
  ];
  return assembleImage({ ...base, history }, layers, assembleOptions(options));
}

/** @internal */
export function tarWriteOptions(options: BuildOptions) {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
  };
}

/** @internal */
export function pathInputOptions(options: BuildOptions) {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.preserveOwnership === undefined ? {} : { preserveOwnership: options.preserveOwnership }),
  };
}

async function tarOf(input: LayerInput, options: BuildOptions): Promise<AsyncIterable<Uint8Array>> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  if (typeof input === 'string') {
    const resolved = await filesystem.readPathInput(input, pathInputOptions(options));
    return resolved.kind === 'entries'
      ? writeTar(resolved.entries, tarWriteOptions(options))
      : decompress(resolved.bytes, 'auto', signal);
  }
  if (Array.isArray(input)) return writeTar(input as readonly TarEntryInput[], tarWriteOptions(options));
  if (input instanceof Uint8Array || isStreamLike(input))
    return decompress(input as ByteSource, 'auto', signal);
  throw new BuildError(
    'ERR_LAYER_INPUT_INVALID',
    'a layer input must be tar bytes or a tar stream, a list of entries, or a path',
  );
}

function isStreamLike(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (Symbol.asyncIterator in value || typeof (value as ReadableStream).getReader === 'function')
  );
}

/** @internal */
export function checkFormat(options: BuildOptions): void {
  if (options.format === 'docker' && options.compression === 'zstd') {
    throw new BuildError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'zstd layers cannot be in a Docker image (Docker schema 2 has no zstd layer type); use format "oci" or gzip',
    );
  }
}

/** @internal */
export function createdTime(options: BuildOptions): string {
  if (options.created !== undefined) {
    return typeof options.created === 'string' ? options.created : rfc3339(options.created);
  }
  return rfc3339(new Date((options.sourceDateEpoch ?? 0) * 1000));
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

function baseConfig(
  config: ImageConfig | RuntimeConfig,
  options: BuildOptions,
  created: string,
): ImageConfig {
  const platform = typeof options.platform === 'string' ? parsePlatform(options.platform) : options.platform;
  if (isImageConfig(config)) {
    return {
      ...config,
      ...(platform === undefined ? {} : platformFields(platform)),
      created: config.created ?? created,
    };
  }
  return {
    created,
    ...platformFields(platform ?? { os: 'linux', architecture: 'amd64' }),
    config: runtimeConfigOf(config),
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

function platformFields(
  platform: Platform,
): Pick<ImageConfig, 'architecture' | 'os' | 'variant' | 'os.version' | 'os.features'> {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant === undefined ? {} : { variant: platform.variant }),
    ...(platform['os.version'] === undefined ? {} : { 'os.version': platform['os.version'] }),
    ...(platform['os.features'] === undefined ? {} : { 'os.features': [...platform['os.features']] }),
  };
}

/** @internal */
export function assembleOptions(options: BuildOptions) {
  return {
    format: options.format ?? 'oci',
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  } as const;
}
