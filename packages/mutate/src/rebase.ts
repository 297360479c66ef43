import { type Image, type Index, imageLayers, reassembleImage } from '@stevedore/image';
import type { HistoryEntry } from '@stevedore/manifest';
import { MutateError } from './errors.ts';
import { applyPerPlatform, type PlatformOptions } from './per-platform.ts';

/** Options for {@link rebase}. */
export interface RebaseOptions extends PlatformOptions {}

const BASE_DIGEST = 'org.opencontainers.image.base.digest';

/**
 * Moves an image from one base to another: the bottom layers, which must be exactly
 * `oldBase`'s, are replaced by `newBase`'s; the layers above and the image's config
 * (entrypoint, env, labels…) are kept; history is spliced the same way. The layers above
 * are not re-read. An `org.opencontainers.image.base.digest` annotation is updated.
 *
 * @throws {MutateError} `ERR_BASE_MISMATCH` naming the first layer that differs when the
 *   image does not start with `oldBase`'s layers.
 * @example
 * ```ts
 * const patched = await rebase(app, oldDebian, newDebian);
 * ```
 */
export function rebase(image: Image, oldBase: Image, newBase: Image, options?: RebaseOptions): Promise<Image>;
export function rebase(index: Index, oldBase: Image, newBase: Image, options: RebaseOptions): Promise<Index>;
export async function rebase(
  node: Image | Index,
  oldBase: Image,
  newBase: Image,
  options: RebaseOptions = {},
): Promise<Image | Index> {
  return (await applyPerPlatform(node, options, async (image) => {
    const layers = imageLayers(image);
    const old = imageLayers(oldBase);
    // diff_ids name the content: the same base compressed otherwise is still the same base.
    const differs = old.findIndex((layer, index) => layers[index]?.diffId !== layer.diffId);
    if (differs >= 0 || layers.length < old.length) {
      const at = differs >= 0 ? differs : layers.length;
      throw new MutateError(
        'ERR_BASE_MISMATCH',
        `image ${image.manifest.digest} does not start with the layers of ${oldBase.manifest.digest}: layer ${at} is ${layers[at]?.diffId ?? 'missing'}, the base has ${old[at]?.diffId}`,
        {
          layer: at,
          ...(old[at] === undefined ? {} : { expected: old[at].diffId }),
          ...(layers[at] === undefined ? {} : { actual: layers[at].diffId }),
        },
      );
    }
    const history: HistoryEntry[] = [
      ...(newBase.config.history ?? []),
      ...(image.config.history ?? []).slice(oldBase.config.history?.length ?? 0),
    ];
    const annotations = { ...(image.manifest.json.annotations ?? {}) };
    if (BASE_DIGEST in annotations) annotations[BASE_DIGEST] = newBase.manifest.digest.toString();
    const layersAbove = layers.slice(old.length);
    return reassembleImage(image, {
      config: { ...image.config, history },
      annotations,
      layers: [...imageLayers(newBase), ...layersAbove],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  })) as Image | Index;
}
