import { type Image, imageFormat, imageLayers, reassembleImage } from '@stevedore/image';
import type { LayerInput } from './build-image.ts';
import { type BuildOptions, buildLayer, checkFormat, createdTime } from './build-image.ts';

/**
 * Adds a layer on top of an image, with a matching history entry, and recomputes the
 * config, manifest and digests through `reassembleImage`. The image's format,
 * annotations, tag and `subject` are kept unless the options say otherwise (converted to
 * Docker, it loses its annotations and subject); its layers are never re-read.
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
  return reassembleImage(image, {
    config: { ...image.config, history },
    layers: [...imageLayers(image), layer],
    format,
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
