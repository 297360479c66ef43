import { collectBytes } from '@stevedore/digest';
import { type Manifest, manifestReferences, parseManifest } from '@stevedore/manifest';
import type { RegistryStore } from './store.ts';

/** Options for {@link collectGarbage}. */
export interface CollectGarbageOptions {
  /**
   * Blobs and manifests written or linked less than this many ms ago are kept whatever
   * refers to them, so pushes under way (layers first, the manifest last) lose nothing;
   * default one hour.
   */
  readonly gracePeriod?: number;
  /**
   * Also delete manifests that no tag reaches (through an index or as a referrer of a kept
   * manifest); by default every manifest is kept, as distribution's `garbage-collect` does.
   */
  readonly deleteUntagged?: boolean;
  /** Report what would go without deleting anything. */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

/** What {@link collectGarbage} did (or would do, with `dryRun`). */
export interface GarbageReport {
  /** Manifests deleted from their repository. */
  readonly manifests: ReadonlyArray<{ readonly repository: string; readonly digest: string }>;
  /** Blobs deleted from the store, with the repository links that showed them. */
  readonly blobs: readonly string[];
  /** Bytes those blobs held. */
  readonly bytes: number;
  /** Manifests that could not be read (kept, their blobs kept too). */
  readonly unreadable: ReadonlyArray<{ readonly repository: string; readonly digest: string }>;
}

/**
 * Mark and sweep: marks every manifest of every repository (with `deleteUntagged`, those a
 * tag reaches: tagged ones, the children of a kept index, the referrers of a kept
 * manifest) and the blobs they name, then deletes the rest: first the links that show a
 * swept blob, then the blob, each checked once more just before (a push racing with the
 * sweep renews a blob's time). Safe while the registry serves, thanks to `gracePeriod`.
 *
 * @example
 * ```ts
 * const report = await collectGarbage(await openFilesystemStore('/srv/registry'), { deleteUntagged: true });
 * console.log(`${report.blobs.length} blobs, ${report.bytes} bytes freed`);
 * ```
 */
export async function collectGarbage(
  store: RegistryStore,
  options: CollectGarbageOptions = {},
): Promise<GarbageReport> {
  const { signal } = options;
  const cutoff = Date.now() - (options.gracePeriod ?? 60 * 60 * 1000);
  const isRecent = async (digest: string) => ((await store.blobInfo(digest))?.modified ?? 0) >= cutoff;
  const marked = new Set<string>();
  const deletedManifests: Array<{ repository: string; digest: string }> = [];
  const unreadable: Array<{ repository: string; digest: string }> = [];
  const repositories = await store.listRepositories();

  for (const repository of repositories) {
    signal?.throwIfAborted();
    const all = new Map<string, string>();
    for await (const { digest, mediaType } of store.listManifests(repository, signal))
      all.set(digest, mediaType);
    const kept = new Set<string>();
    const read = async (digest: string): Promise<Manifest | undefined> => {
      try {
        return await parseManifest(
          await collectBytes(store.readBlob(digest, undefined, signal)),
          all.get(digest),
        );
      } catch {
        unreadable.push({ repository, digest });
        return undefined;
      }
    };
    const keep = async (digest: string): Promise<void> => {
      if (kept.has(digest) || !all.has(digest)) return;
      kept.add(digest);
      marked.add(digest);
      const manifest = await read(digest);
      if (manifest !== undefined && manifest.format !== 'schema1') {
        // An index's children are manifests, kept in turn; an image's config and layers, blobs.
        for (const { digest: named } of manifestReferences(manifest)) {
          if (manifest.kind === 'index') await keep(named);
          else marked.add(named);
        }
      }
      for (const referrer of await store.listReferrers(repository, digest)) await keep(referrer.digest);
    };
    const roots = new Set<string>();
    if (options.deleteUntagged === true) {
      for (const tag of await store.listTags(repository)) {
        const digest = await store.getTag(repository, tag);
        if (digest !== undefined) roots.add(digest);
      }
      for (const digest of all.keys()) if (await isRecent(digest)) roots.add(digest);
    } else {
      for (const digest of all.keys()) roots.add(digest);
    }
    for (const digest of roots) await keep(digest);

    for (const digest of all.keys()) {
      if (kept.has(digest)) continue;
      deletedManifests.push({ repository, digest });
      if (options.dryRun === true) continue;
      const manifest = await read(digest);
      await store.unlinkManifest(repository, digest);
      const subject = manifest?.format === 'schema1' ? undefined : manifest?.json.subject?.digest;
      if (subject !== undefined) await store.removeReferrer(repository, subject, digest);
    }
  }

  const swept = new Map<string, number>();
  for await (const blob of store.listBlobs(signal)) {
    if (!marked.has(blob.digest) && blob.modified < cutoff) swept.set(blob.digest, blob.size);
  }
  if (options.dryRun !== true) {
    for (const repository of repositories) {
      for await (const digest of store.listBlobLinks(repository, signal)) {
        if (swept.has(digest) && !(await isRecent(digest))) await store.unlinkBlob(repository, digest);
      }
    }
    for (const digest of [...swept.keys()]) {
      signal?.throwIfAborted();
      if (await isRecent(digest)) swept.delete(digest);
      else await store.deleteBlob(digest);
    }
  }
  let bytes = 0;
  for (const size of swept.values()) bytes += size;
  return { manifests: deletedManifests, blobs: [...swept.keys()], bytes, unreadable };
}
