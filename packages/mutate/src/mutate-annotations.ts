import { type Image, type Index, imageAnnotations, reassembleImage } from '@stevedore/image';
import { applyPerPlatform, type PlatformOptions, reassembleIndex } from './per-platform.ts';

/** Options for {@link mutateAnnotations}. */
export interface MutateAnnotationsOptions extends PlatformOptions {}

/**
 * Merges annotations into an image's manifest (a value of `undefined` removes a key).
 * The config and layers are untouched; only the manifest digest changes. For an index
 * without `platforms`, the index's own annotations change; with `platforms`, those images'.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for a Docker image or manifest list,
 *   which have no annotations.
 */
export function mutateAnnotations(
  image: Image,
  annotations: Readonly<Record<string, string | undefined>>,
  options?: MutateAnnotationsOptions,
): Promise<Image>;
export function mutateAnnotations(
  index: Index,
  annotations: Readonly<Record<string, string | undefined>>,
  options?: MutateAnnotationsOptions,
): Promise<Index>;
export async function mutateAnnotations(
  node: Image | Index,
  annotations: Readonly<Record<string, string | undefined>>,
  options: MutateAnnotationsOptions = {},
): Promise<Image | Index> {
  if (node.kind === 'index' && options.platforms === undefined) {
    return reassembleIndex(node, { annotations: merge(imageAnnotations(node), annotations) });
  }
  return (await applyPerPlatform(node, options, async (image) =>
    reassembleImage(image, {
      annotations: merge(imageAnnotations(image), annotations),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  )) as Image | Index;
}

function merge(
  current: Readonly<Record<string, string>>,
  changes: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
