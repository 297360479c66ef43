import { writeTar } from '@stevedore/archive';
import type { Image, RuntimeConfig } from '@stevedore/image';
import type { ImageConfig } from '@stevedore/manifest';
import { filesystem } from '#filesystem';
import {
  type BuildOptions,
  checkFormat,
  imageFromLayers,
  layerFromTar,
  pathInputOptions,
  tarWriteOptions,
} from './build-image.ts';

/**
 * Builds a one-layer image from a directory tree (Node): entries in byte order, timestamps
 * zeroed (or the `sourceDateEpoch`), hardlinks (one inode) written as hardlink entries,
 * symlinks kept as links, modes kept, sockets skipped with a `warning` event.
 *
 * @throws {BuildError} `ERR_READ_FAILED` naming an unreadable file;
 *   `ERR_LAYER_INPUT_INVALID` when `path` is not a directory.
 * @example
 * ```ts
 * const image = await buildFromDir('./site', { cmd: ['nginx', '-g', 'daemon off;'] });
 * await writeOciLayout('./layout', image, { tag: 'site' });
 * ```
 */
export async function buildFromDir(
  path: string,
  config: ImageConfig | RuntimeConfig,
  options: BuildOptions = {},
): Promise<Image> {
  checkFormat(options);
  const entries = await filesystem.directoryEntries(path, pathInputOptions(options));
  const layer = await layerFromTar(writeTar(entries, tarWriteOptions(options)), options);
  return imageFromLayers([layer], config, options);
}
