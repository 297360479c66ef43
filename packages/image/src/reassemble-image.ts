import type { ImageConfig } from '@stevedore/manifest';
import { imageAnnotations, imageFormat, imageLayers } from './accessors.ts';
import { assembleImage, type Layer } from './assemble-image.ts';
import type { Image, ImageFormat } from './image.ts';

/** Options for {@link reassembleImage}: what changes; everything else is kept. */
export interface ReassembleImageOptions {
  /** The new config; default the image's. */
  readonly config?: ImageConfig;
  /** The new layers, bottom first; default the image's. */
  readonly layers?: readonly Layer[];
  /** The new format; default the image's. */
  readonly format?: ImageFormat;
  /** The new manifest annotations (empty for none); default the image's. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The new tag; default the image's. */
  readonly tag?: string;
  readonly signal?: AbortSignal;
}

/**
 * An image changed and put back together through {@link assembleImage}: what the options
 * name replaces the image's own; its format, annotations, tag and `subject` are kept
 * otherwise. Converted to the Docker format, the image's own annotations and `subject`
 * are dropped (a Docker manifest has neither). Layer bytes are never read.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for annotations given with the Docker
 *   format, or zstd layers in it; {@link ManifestError} `ERR_CONFIG_INVALID` for a
 *   malformed config.
 * @example
 * ```ts
 * const next = await reassembleImage(image, { layers: [...imageLayers(image), layer] });
 * ```
 */
export function reassembleImage(image: Image, options: ReassembleImageOptions = {}): Promise<Image> {
  const format = options.format ?? imageFormat(image);
  // The image's own annotations and subject move only to a format that has them.
  const kept = format === 'oci';
  const annotations = options.annotations ?? (kept ? imageAnnotations(image) : {});
  const subject = kept ? image.manifest.json.subject : undefined;
  const tag = options.tag ?? image.tag;
  return assembleImage(options.config ?? image.config, options.layers ?? imageLayers(image), {
    format,
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    ...(subject === undefined ? {} : { subject }),
    ...(tag === undefined ? {} : { tag }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
