import { assembleIndex, type Image, type Index, imageAnnotations, imageFormat } from '@stevedore/image';
import { reassemble } from './mutate-config.ts';
import { applyPerPlatform, type PlatformOptions } from './per-platform.ts';

/** Options for {@link mutateAnnotations}. */
export interface MutateAnnotationsOptions extends PlatformOptions {}

/**
 * Merges annotations into an image's manifest (a value of `undefined` removes a key).
 * The config and layers are untouched; only the manifest digest changes. For an index
 * without `platforms`, the index's own annotations change; with `platforms`, those images'.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for a Docker image, which has no annotations.
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
    return assembleIndex(node.children, {
      format: imageFormat(node),
      annotations: merge(imageAnnotations(node), annotations),
      ...(node.tag === undefined ? {} : { tag: node.tag }),
      entries: node.manifest.json.manifests.map((entry) => ({
        ...(entry.annotations === undefined ? {} : { annotations: entry.annotations }),
        ...(entry.platform === undefined ? {} : { platform: entry.platform }),
      })),
    });
  }
  return (await applyPerPlatform(node, options, async (image) =>
    reassemble(image, image.config, merge(imageAnnotations(image), annotations)),
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
