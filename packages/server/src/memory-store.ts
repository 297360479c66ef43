import { randomUUID } from 'node:crypto';
import { concatBytes } from '@stevedore/digest';
import type { Descriptor } from '@stevedore/manifest';
import { notFound, wrongOffset } from './errors.ts';
import {
  type ByteRange,
  compareStrings,
  type RegistryStore,
  type StoredBlob,
  type StoredManifest,
  type UploadSession,
} from './store.ts';

interface MemoryRepository {
  readonly blobs: Set<string>;
  readonly manifests: Map<string, string>;
  readonly tags: Map<string, string>;
  readonly referrers: Map<string, Map<string, Descriptor>>;
}

interface MemoryUpload {
  readonly id: string;
  readonly repository: string;
  readonly chunks: Uint8Array[];
  size: number;
  readonly started: number;
  updated: number;
}

/**
 * A {@link RegistryStore} in memory, for tests and ephemeral registries: everything is
 * lost with the process, and every blob sits whole in memory.
 *
 * @example
 * ```ts
 * const server = await startServer({ store: createMemoryStore() });
 * ```
 */
export function createMemoryStore(): RegistryStore {
  const blobs = new Map<string, { bytes: Uint8Array; modified: number }>();
  const uploads = new Map<string, MemoryUpload>();
  const repositories = new Map<string, MemoryRepository>();
  const repository = (name: string): MemoryRepository => {
    let found = repositories.get(name);
    if (found === undefined) {
      found = { blobs: new Set(), manifests: new Map(), tags: new Map(), referrers: new Map() };
      repositories.set(name, found);
    }
    return found;
  };
  const upload = (id: string): MemoryUpload => {
    const found = uploads.get(id);
    if (found === undefined) throw notFound(`upload ${id}`);
    return found;
  };
  const info = (found: MemoryUpload): UploadSession => ({
    id: found.id,
    repository: found.repository,
    size: found.size,
    started: found.started,
    updated: found.updated,
  });
  const isEmpty = (found: MemoryRepository) =>
    found.blobs.size === 0 && found.manifests.size === 0 && found.tags.size === 0;

  return {
    async blobInfo(digest) {
      const found = blobs.get(digest);
      return found === undefined
        ? undefined
        : ({ size: found.bytes.byteLength, modified: found.modified } as StoredBlob);
    },
    async *readBlob(digest, range?: ByteRange) {
      const found = blobs.get(digest);
      if (found === undefined) throw notFound(`blob ${digest}`);
      yield range === undefined ? found.bytes : found.bytes.subarray(range.start, range.end);
    },
    async putBlob(digest, bytes) {
      if (!blobs.has(digest)) blobs.set(digest, { bytes: bytes.slice(), modified: Date.now() });
    },
    async deleteBlob(digest) {
      blobs.delete(digest);
    },
    async *listBlobs() {
      for (const [digest, { bytes, modified }] of blobs) yield { digest, size: bytes.byteLength, modified };
    },

    async createUpload(name) {
      const now = Date.now();
      const created: MemoryUpload = {
        id: randomUUID(),
        repository: name,
        chunks: [],
        size: 0,
        started: now,
        updated: now,
      };
      uploads.set(created.id, created);
      return info(created);
    },
    async uploadSession(id) {
      const found = uploads.get(id);
      return found === undefined ? undefined : info(found);
    },
    async appendUpload(id, offset, body) {
      const found = upload(id);
      if (offset !== found.size) throw wrongOffset(id, found.size, offset);
      for await (const chunk of body) {
        found.chunks.push(chunk.slice());
        found.size += chunk.byteLength;
        found.updated = Date.now();
      }
      return found.size;
    },
    async *readUpload(id) {
      yield* upload(id).chunks;
    },
    async commitUpload(id, digest) {
      const found = upload(id);
      const bytes = blobs.get(digest)?.bytes ?? concatBytes(found.chunks);
      blobs.set(digest, { bytes, modified: Date.now() });
      uploads.delete(id);
    },
    async deleteUpload(id) {
      uploads.delete(id);
    },
    async *listUploads() {
      for (const found of uploads.values()) yield info(found);
    },

    async linkBlob(name, digest) {
      repository(name).blobs.add(digest);
      const found = blobs.get(digest);
      if (found !== undefined) found.modified = Date.now();
    },
    async hasBlobLink(name, digest) {
      return repositories.get(name)?.blobs.has(digest) ?? false;
    },
    async unlinkBlob(name, digest) {
      repositories.get(name)?.blobs.delete(digest);
    },
    async *listBlobLinks(name) {
      yield* repositories.get(name)?.blobs ?? [];
    },

    async linkManifest(name, digest, mediaType) {
      repository(name).manifests.set(digest, mediaType);
    },
    async manifestMediaType(name, digest) {
      return repositories.get(name)?.manifests.get(digest);
    },
    async unlinkManifest(name, digest) {
      repositories.get(name)?.manifests.delete(digest);
    },
    async *listManifests(name) {
      for (const [digest, mediaType] of repositories.get(name)?.manifests ?? []) {
        yield { digest, mediaType } as StoredManifest;
      }
    },

    async getTag(name, tag) {
      return repositories.get(name)?.tags.get(tag);
    },
    async setTag(name, tag, digest) {
      repository(name).tags.set(tag, digest);
    },
    async deleteTag(name, tag) {
      repositories.get(name)?.tags.delete(tag);
    },
    async listTags(name) {
      return [...(repositories.get(name)?.tags.keys() ?? [])].sort(compareStrings);
    },

    async addReferrer(name, subject, referrer) {
      const referrers = repository(name).referrers;
      const list = referrers.get(subject) ?? new Map<string, Descriptor>();
      list.set(referrer.digest, referrer);
      referrers.set(subject, list);
    },
    async removeReferrer(name, subject, referrer) {
      repositories.get(name)?.referrers.get(subject)?.delete(referrer);
    },
    async listReferrers(name, subject) {
      return [...(repositories.get(name)?.referrers.get(subject)?.values() ?? [])];
    },

    async listRepositories() {
      return [...repositories]
        .filter(([, found]) => !isEmpty(found))
        .map(([name]) => name)
        .sort(compareStrings);
    },
  };
}
