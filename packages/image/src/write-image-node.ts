import { isNondistributable, manifestDescriptor } from '@stevedore/manifest';
import { imageBlobs } from './accessors.ts';
import { blobNotFound } from './errors.ts';
import type { ImageNode } from './image.ts';
import type { ImageDestination, TransportOptions } from './transport.ts';

/** Options for {@link writeImageNode}. */
export interface WriteImageNodeOptions extends TransportOptions {
  /** The tag for the top-level manifest; defaults to the node's own `tag`. */
  readonly tag?: string;
  /** Also copy non-distributable (foreign) layers; by default they are skipped, as crane and skopeo do. */
  readonly includeNondistributable?: boolean;
}

/**
 * Writes an image, index or artifact to a destination: every blob the destination lacks
 * (which the destination verifies as it stores it), the manifests children first, then the tag, then `commit`.
 * Manifests move as their exact bytes, so digests are preserved.
 */
export async function writeImageNode(
  node: ImageNode,
  destination: ImageDestination,
  options: WriteImageNodeOptions = {},
): Promise<void> {
  const written = new Set<string>();
  const write = async (current: ImageNode, tag: string | undefined): Promise<void> => {
    const digest = current.manifest.digest.toString();
    if (current.kind === 'index') {
      for (const child of current.children) await write(child, undefined);
    } else {
      for (const blob of imageBlobs(current)) {
        if (written.has(blob.digest)) continue;
        if (isNondistributable(blob.mediaType) && options.includeNondistributable !== true) continue;
        if (!(await destination.hasBlob(blob, options))) {
          // The destination verifies what it stores (ImageDestination's contract): hashing
          // here as well would read every byte's digest twice.
          const content = await current.blobs.openBlob(blob, options);
          if (content === undefined) throw blobNotFound(blob.digest, `the blob source of ${digest}`);
          await destination.putBlob(blob, content, options);
        }
        written.add(blob.digest);
      }
    }
    if (written.has(digest) && tag === undefined) return;
    const manifest = { bytes: current.manifest.raw, mediaType: current.manifest.mediaType };
    await destination.putManifest(manifestDescriptor(current.manifest), manifest, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(tag === undefined ? {} : { tag }),
    });
    written.add(digest);
  };
  await write(node, options.tag ?? node.tag);
  await destination.commit(options);
}
