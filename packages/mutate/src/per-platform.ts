import {
  assembleIndex,
  type Image,
  type ImageNode,
  type Index,
  imageAnnotations,
  imageFormat,
} from '@stevedore/image';
import { formatPlatform, type Platform, parsePlatform, platformMatches } from '@stevedore/manifest';
import { MutateError } from './errors.ts';

/** Options of every mutation that can apply to the images of an index. */
export interface PlatformOptions {
  /**
   * For an index: which images to change, as `'linux/arm64'` strings or platform objects,
   * or `'all'`. Without it, a mutation of an index fails: say which images to change.
   */
  readonly platforms?: ReadonlyArray<string | Platform> | 'all';
  readonly signal?: AbortSignal;
}

/**
 * Applies `change` to an image, or to the chosen images of an index (recursively), and
 * rebuilds the index around them: other entries, their descriptors' annotations and the
 * index's own annotations and format are kept.
 *
 * @throws {MutateError} `ERR_NO_MATCH` for an index without `platforms`, or when no image
 *   of the index matches them.
 * @internal
 */
export async function applyPerPlatform(
  node: ImageNode,
  options: PlatformOptions,
  change: (image: Image) => Promise<Image>,
): Promise<ImageNode> {
  if (node.kind === 'image') return change(node);
  if (node.kind !== 'index') return node;
  const wanted = options.platforms;
  if (wanted === undefined) {
    throw new MutateError(
      'ERR_NO_MATCH',
      `${node.manifest.digest} is an index: name the platforms to change (platforms: ['linux/amd64'] or 'all')`,
    );
  }
  const platforms =
    wanted === 'all' ? 'all' : wanted.map((p) => (typeof p === 'string' ? parsePlatform(p) : p));
  let changed = 0;
  const rewrite = async (index: Index): Promise<Index> => {
    const children: ImageNode[] = [];
    for (const [position, child] of index.children.entries()) {
      const entry = index.manifest.json.manifests[position];
      const matches =
        child.kind === 'image' &&
        (platforms === 'all' ||
          (entry?.platform !== undefined &&
            platforms.some((p) => platformMatches(p, entry.platform as Platform))));
      if (child.kind === 'index') children.push(await rewrite(child));
      else if (matches && child.kind === 'image') {
        children.push(await change(child));
        changed++;
      } else children.push(child);
    }
    return reassembleIndex(index, { children });
  };
  const result = await rewrite(node);
  if (changed === 0) {
    const listed = platforms === 'all' ? 'any platform' : platforms.map(formatPlatform).join(', ');
    throw new MutateError('ERR_NO_MATCH', `index ${node.manifest.digest} has no image for ${listed}`);
  }
  return result;
}

/** What {@link reassembleIndex} changes; the rest of the index is kept. */
interface IndexChanges {
  /** The new children, in the index's order; default its own. */
  readonly children?: readonly ImageNode[];
  /** The index's new annotations (empty for none); default its own. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * The index again through `assembleIndex`, with new children or annotations: its format,
 * tag, and its entries' platforms and annotations are kept.
 *
 * @throws {ImageError} `ERR_UNSUPPORTED_MEDIA_TYPE` for annotations on a Docker manifest list.
 * @internal
 */
export function reassembleIndex(index: Index, changes: IndexChanges = {}): Promise<Index> {
  const annotations = changes.annotations ?? imageAnnotations(index);
  return assembleIndex(changes.children ?? index.children, {
    format: imageFormat(index),
    ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
    ...(index.tag === undefined ? {} : { tag: index.tag }),
    entries: index.manifest.json.manifests.map((entry) => ({
      ...(entry.annotations === undefined ? {} : { annotations: entry.annotations }),
      ...(entry.platform === undefined ? {} : { platform: entry.platform }),
    })),
  });
}
