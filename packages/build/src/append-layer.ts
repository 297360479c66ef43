import { assembleImage, type Image, imageAnnotations, imageFormat, imageLayers } from '@stevedore/image';
import type { LayerInput } from './build-image.ts';
import { type BuildOptions, buildLayer, checkFormat, createdTime } from './build-image.ts';

/**
 * Adds a layer on top of an image, with a matching history entry, and recomputes the
 * config, manifest and digests through `assembleImage`. The image's format and
 * annotations are kept unless the options say otherwise; its layers are never re-read.
 *
 * @throws {BuildError} as `buildImage`.
 * @example
 * ```ts
 * const withApp = await appendLayer(base, './app', { compression: 'zstd' });
 * ```
 */
export async function appendLayer(
  image: Image,
  input: LayerInput,
  options: BuildOptions = {},
): Promise<Image> {
  const format = options.format ?? imageFormat(image);
  checkFormat({ ...options, format });
  const layer = await buildLayer(input, { ...options, format });
  const created =
    options.created === undefined && options.sourceDateEpoch === undefined
      ? image.config.created
      : createdTime(options);
  const history = [
    ...(image.config.history ?? []),
    { ...(created === undefined ? {} : { created }), created_by: 'stevedore append' },
  ];
  const annotations = options.annotations ?? (format === 'oci' ? imageAnnotations(image) : undefined);
  return assembleImage({ ...image.config, history }, [...imageLayers(image), layer], {
    format,
    ...(annotations === undefined || Object.keys(annotations).length === 0 ? {} : { annotations }),
    ...((options.tag ?? image.tag) ? { tag: options.tag ?? image.tag } : {}),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
