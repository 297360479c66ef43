// A consistency check of a filesystem store (the layout at the top of
// packages/server/src/filesystem-store.ts), for tests that crash or load the registry:
// what a pull could trip over is reported, one line per problem.
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  type ComputableAlgorithm,
  collectBytes,
  computeDigest,
  isComputableAlgorithm,
  isDigest,
} from '@stevedore/digest';
import { isNondistributable, type Manifest, manifestReferences, parseManifest } from '@stevedore/manifest';
import { openFilesystemStore } from '@stevedore/server';

// blobs/<algorithm>/<first two characters>/<encoded>: anything else there is a stray file.
const BLOB_FILE = /^([^/]+)\/([^/]{2})\/([^/]+)$/;

/**
 * The problems of the filesystem store at `root`, none when it is consistent:
 * - every file under `blobs/` sits where a blob's digest puts it, and its bytes hash to
 *   that digest (so nothing there is half-written);
 * - every tag names a manifest linked in its repository, whose blob exists;
 * - every linked manifest's blob exists and parses, and what it names (config and layers,
 *   or child manifests for an index) is visible in the repository (a blob link or a
 *   manifest link) and exists, non-distributable layers excepted;
 * - every blob link's blob exists.
 *
 * Opening the store clears its `tmp/`: run it when no server is writing to `root`
 * (stopped, or idle between requests).
 */
export async function checkStore(root: string): Promise<string[]> {
  const problems: string[] = [];
  const named = new Set<string>(); // the blob files whose path is a digest's
  const blobsRoot = join(root, 'blobs');
  const files = await readdir(blobsRoot, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of files) {
    if (entry.isDirectory()) continue;
    const path = relative(blobsRoot, join(entry.parentPath, entry.name)).split(sep).join('/');
    const match = BLOB_FILE.exec(path);
    const [, algorithm = '', prefix = '', encoded = ''] = match ?? [];
    if (
      match === null ||
      !entry.isFile() ||
      !isDigest(`${algorithm}:${encoded}`) ||
      !encoded.startsWith(prefix)
    ) {
      problems.push(`blobs/${path}: a stray file where only whole blobs belong`);
    } else {
      named.add(`${algorithm}:${encoded}`);
    }
  }

  const store = await openFilesystemStore(root);
  try {
    const blobs = new Map<string, number>();
    for await (const { digest, size } of store.listBlobs()) {
      if (!named.has(digest)) continue; // a stray file, reported above
      blobs.set(digest, size);
      const algorithm = digest.slice(0, digest.indexOf(':'));
      if (!isComputableAlgorithm(algorithm)) {
        problems.push(`blob ${digest}: an algorithm that cannot be verified`);
        continue;
      }
      let bytes = 0;
      const counted = (async function* () {
        for await (const chunk of store.readBlob(digest)) {
          bytes += chunk.byteLength;
          yield chunk;
        }
      })();
      let actual: string;
      try {
        actual = (await computeDigest(counted, algorithm as ComputableAlgorithm)).toString();
      } catch (error) {
        problems.push(`blob ${digest}: cannot be read: ${(error as Error).message}`);
        continue;
      }
      if (actual !== digest) problems.push(`blob ${digest}: its ${bytes} bytes hash to ${actual}`);
      if (bytes !== size) problems.push(`blob ${digest}: read ${bytes} bytes, the store says ${size}`);
    }
    // Found now, or written since the listing (the store is meant to be idle, but a
    // missing blob is worth asking about twice before it is called lost).
    const exists = async (digest: string) =>
      blobs.has(digest) || (await store.blobInfo(digest)) !== undefined;

    for (const repository of await store.listRepositories()) {
      const links = new Set<string>();
      for await (const digest of store.listBlobLinks(repository)) {
        links.add(digest);
        if (!(await exists(digest))) problems.push(`${repository}: blob link ${digest} shows a missing blob`);
      }
      const manifests = new Map<string, string>();
      for await (const { digest, mediaType } of store.listManifests(repository))
        manifests.set(digest, mediaType);
      const visible = (digest: string) => links.has(digest) || manifests.has(digest);

      for (const tag of await store.listTags(repository)) {
        const digest = await store.getTag(repository, tag);
        if (digest === undefined) problems.push(`${repository}:${tag}: the tag cannot be read`);
        else if (!manifests.has(digest))
          problems.push(`${repository}:${tag}: names ${digest}, not a manifest of the repository`);
        else if (!(await exists(digest)))
          problems.push(`${repository}:${tag}: names ${digest}, whose blob is missing`);
      }

      for (const [digest, mediaType] of manifests) {
        const where = `${repository}@${digest}`;
        if (!(await exists(digest))) {
          problems.push(`${where}: a linked manifest whose blob is missing`);
          continue;
        }
        let manifest: Manifest;
        try {
          manifest = await parseManifest(await collectBytes(store.readBlob(digest)), mediaType);
        } catch (error) {
          problems.push(`${where}: does not parse as ${mediaType}: ${(error as Error).message}`);
          continue;
        }
        if (manifest.format === 'schema1') continue; // the server refuses schema 1: none to check
        const named = manifestReferences(manifest).filter(
          (descriptor) => !isNondistributable(descriptor.mediaType),
        );
        for (const { digest: blob } of named) {
          if (!visible(blob)) problems.push(`${where}: names ${blob}, not visible in the repository`);
          else if (!(await exists(blob))) problems.push(`${where}: names ${blob}, whose blob is missing`);
        }
      }
    }
  } finally {
    await store.close?.();
  }
  return problems;
}
