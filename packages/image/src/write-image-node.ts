import {
  type Descriptor,
  isNondistributable,
  manifestDescriptor,
  manifestSubject,
} from '@stevedore/manifest';
import { imageBlobs } from './accessors.ts';
import type { BlobSource } from './blob-source.ts';
import { blobNotFound } from './errors.ts';
import type { ImageNode } from './image.ts';
import { type BlobProgress, countProgress } from './progress.ts';
import { runBounded } from './run-bounded.ts';
import type { ImageDestination, TransportOptions } from './transport.ts';

/** Options of every write that moves blobs: how many at once, and progress. */
export interface TransferOptions extends TransportOptions {
  /** How many blobs move at once (default 4). */
  readonly concurrency?: number;
  /** Called as each blob is skipped, starts, moves and is done. */
  readonly onProgress?: (event: BlobProgress) => void;
}

/** Options for {@link writeImageNode}. */
export interface WriteImageNodeOptions extends TransferOptions {
  /** The tag for the top-level manifest; defaults to the node's own `tag`. */
  readonly tag?: string;
  /** Also copy non-distributable (foreign) layers; by default they are skipped, as crane and skopeo do. */
  readonly includeNondistributable?: boolean;
}

/** How many blobs a write moves at once unless told otherwise (skopeo copies 6, crane 4). */
const DEFAULT_CONCURRENCY = 4;

/**
 * Writes an image, index or artifact to a destination: every blob the destination lacks
 * (which the destination verifies as it stores it), `concurrency` at a time, then the
 * manifests children first, the tag, and `commit`. Manifests move as their exact bytes,
 * so digests are preserved. A destination that already holds the manifest (`hasManifest`)
 * gets the tag alone, each blob reported `skipped`. On a failure or an abort the blobs in
 * flight are stopped and waited for before the call rejects.
 */
export async function writeImageNode(
  node: ImageNode,
  destination: ImageDestination,
  options: WriteImageNodeOptions = {},
): Promise<void> {
  const { onProgress } = options;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const tag = options.tag ?? node.tag;
  const blobs = blobsOf(node, options.includeNondistributable === true);
  // Foreign layers among the blobs are ones to copy (blobsOf kept them only when asked).
  const copiesForeign = blobs.some(({ descriptor }) => isNondistributable(descriptor.mediaType));
  const held = await manifestHeld(destination, node, tag, copiesForeign, signal);
  if (held !== 'no') {
    for (const { descriptor } of blobs) onProgress?.({ descriptor, state: 'skipped', bytes: 0 });
    if (held === 'untagged' && tag !== undefined) {
      const manifest = { bytes: node.manifest.raw, mediaType: node.manifest.mediaType };
      await destination.putManifest(manifestDescriptor(node.manifest), manifest, { ...signal, tag });
    }
    await destination.commit(signal);
    return;
  }
  await runBounded(
    blobs,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async ({ descriptor, blobs, owner }, signal) => {
      if (await destination.hasBlob(descriptor, { signal })) {
        onProgress?.({ descriptor, state: 'skipped', bytes: 0 });
        return;
      }
      // Registry to registry: mounted from the source repository when the registry lets us.
      const origin = destination.mountBlob && blobs.originOf?.(descriptor);
      if (origin && destination.mountBlob && (await destination.mountBlob(descriptor, origin, { signal }))) {
        onProgress?.({ descriptor, state: 'mounted', bytes: 0 });
        return;
      }
      // File to file: the destination reads the file itself, verifying what it stores.
      const file = destination.putBlobFile && (await blobs.fileOf?.(descriptor));
      if (file && destination.putBlobFile) {
        onProgress?.({ descriptor, state: 'started', bytes: 0 });
        const onBytes =
          onProgress && ((bytes: number) => onProgress({ descriptor, state: 'progress', bytes }));
        await destination.putBlobFile(descriptor, file, { signal, ...(onBytes && { onBytes }) });
        onProgress?.({ descriptor, state: 'done', bytes: descriptor.size });
        return;
      }
      // The destination verifies what it stores (ImageDestination's contract): hashing
      // here as well would read every byte's digest twice.
      const open = async () => {
        const content = await blobs.openBlob(descriptor, {
          signal,
          ...(destination.transientChunks === true && { transientChunks: true }),
        });
        if (content === undefined) throw blobNotFound(descriptor.digest, `the blob source of ${owner}`);
        return onProgress === undefined ? content : countProgress(content, descriptor, onProgress);
      };
      const content = await open();
      onProgress?.({ descriptor, state: 'started', bytes: 0 });
      await destination.putBlob(descriptor, content, { signal, reopen: open });
      onProgress?.({ descriptor, state: 'done', bytes: descriptor.size });
    },
    options.signal,
  );
  const written = new Set<string>();
  const writeManifests = async (current: ImageNode, tag: string | undefined): Promise<void> => {
    if (current.kind === 'index')
      for (const child of current.children) await writeManifests(child, undefined);
    const digest = current.manifest.digest.toString();
    if (written.has(digest) && tag === undefined) return;
    const manifest = { bytes: current.manifest.raw, mediaType: current.manifest.mediaType };
    await destination.putManifest(manifestDescriptor(current.manifest), manifest, {
      ...signal,
      ...(tag === undefined ? {} : { tag }),
    });
    written.add(digest);
  };
  await writeManifests(node, tag);
  await destination.commit(signal);
}

// Whether the destination holds the manifest: as asked (`tagged`: under the tag when there
// is one), only by digest (`untagged`: the tag is still to be put), or not (`no`, also
// when it cannot tell). Never asked for a manifest with a `subject` (putting it again
// repairs what a destination keeps about referrers, such as a registry's referrers tag)
// nor when foreign layers are to be copied (registries accept manifests without them).
async function manifestHeld(
  destination: ImageDestination,
  node: ImageNode,
  tag: string | undefined,
  copiesForeign: boolean,
  signal: { signal?: AbortSignal },
): Promise<'tagged' | 'untagged' | 'no'> {
  if (destination.hasManifest === undefined || manifestSubject(node.manifest) !== undefined) return 'no';
  if (copiesForeign) return 'no';
  const descriptor = manifestDescriptor(node.manifest);
  if (tag !== undefined && (await destination.hasManifest(descriptor, { ...signal, tag }))) return 'tagged';
  if (await destination.hasManifest(descriptor, signal)) return tag === undefined ? 'tagged' : 'untagged';
  return 'no';
}

interface PendingBlob {
  readonly descriptor: Descriptor;
  readonly blobs: BlobSource;
  /** The manifest that lists it, for error messages. */
  readonly owner: string;
}

/** Every blob of a manifest graph once, children in order, skipping foreign layers unless asked. */
function blobsOf(node: ImageNode, includeNondistributable: boolean): PendingBlob[] {
  const seen = new Set<string>();
  const pending: PendingBlob[] = [];
  const visit = (current: ImageNode): void => {
    if (current.kind === 'index') {
      for (const child of current.children) visit(child);
      return;
    }
    for (const descriptor of imageBlobs(current)) {
      if (seen.has(descriptor.digest)) continue;
      if (isNondistributable(descriptor.mediaType) && !includeNondistributable) continue;
      seen.add(descriptor.digest);
      pending.push({ descriptor, blobs: current.blobs, owner: current.manifest.digest.toString() });
    }
  };
  visit(node);
  return pending;
}
