import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDigest } from '@stevedore/digest';
import { openFileAppender, readFileChunks } from '@stevedore/image/node';
import type { Descriptor } from '@stevedore/manifest';
import { isRepositoryName, isTag } from '@stevedore/transport-registry';
import { notFound, ServerError, wrongOffset } from './errors.ts';
import { compareStrings, type RegistryStore, type StoredBlobEntry, type UploadSession } from './store.ts';

/**
 * The filesystem {@link RegistryStore}, the server's default:
 *
 * ```text
 * ROOT/blobs/sha256/ab/abcdef…                    every blob once, shared by all repositories
 * ROOT/uploads/<uuid>/{data,session.json}        upload sessions (survive a restart)
 * ROOT/repositories/<name>/_layers/sha256/<hex>  the blobs visible in a repository
 * ROOT/repositories/<name>/_manifests/sha256/<hex>        a manifest's media type
 * ROOT/repositories/<name>/_tags/<tag>           the digest a tag points at
 * ROOT/repositories/<name>/_referrers/sha256/<subject hex>/sha256-<hex>  a referrer's descriptor
 * ROOT/tmp/                                      files being written, renamed into place whole
 * ```
 *
 * Repository path components never start with `_` (the grammar forbids it), so a nested
 * repository (`team/app` under `team`) cannot collide with these directories.
 *
 * Every file is written under `tmp/` and renamed into place, and the server writes a
 * blob before the link that shows it and a manifest before the tag that names it: a
 * process killed at any point leaves no partial blob under a digest and no tag pointing
 * at a missing manifest. Files are not synced (as distribution does not): a power cut
 * may lose what the filesystem had not yet written.
 *
 * @example
 * ```ts
 * const store = await openFilesystemStore('/var/lib/stevedore');
 * ```
 */
export async function openFilesystemStore(root: string): Promise<RegistryStore> {
  if (typeof root !== 'string' || root === '') {
    throw new TypeError(`openFilesystemStore: root must be a directory path, got ${String(root)}`);
  }
  const blobsRoot = join(root, 'blobs');
  const uploadsRoot = join(root, 'uploads');
  const repositoriesRoot = join(root, 'repositories');
  const temporaryRoot = join(root, 'tmp');
  // Whatever a killed process left half-written is of no use to anyone.
  await rm(temporaryRoot, { recursive: true, force: true });
  for (const directory of [blobsRoot, uploadsRoot, repositoriesRoot, temporaryRoot]) {
    await mkdir(directory, { recursive: true });
  }
  // A session killed before its session.json landed (or after its data was committed)
  // is no session: nothing would ever list it, expire it or remove it.
  for (const id of await list(uploadsRoot)) {
    const folder = join(uploadsRoot, id);
    const whole = await Promise.all(
      ['data', 'session.json'].map((file) => stat(join(folder, file)).catch(ignoreMissing)),
    );
    if (!UPLOAD_ID.test(id) || whole.includes(undefined)) await rm(folder, { recursive: true, force: true });
  }

  const blobPath = (digest: string) => {
    const [algorithm, encoded] = splitDigest(digest);
    return join(blobsRoot, algorithm, encoded.slice(0, 2), encoded);
  };
  const repositoryPath = (name: string, ...parts: string[]) => {
    if (!isRepositoryName(name)) throw new TypeError(`not a repository name: ${JSON.stringify(name)}`);
    return join(repositoriesRoot, name, ...parts);
  };
  const linkPath = (kind: '_layers' | '_manifests', name: string, digest: string) =>
    repositoryPath(name, kind, ...splitDigest(digest));
  const tagPath = (name: string, tag: string) => {
    if (!isTag(tag)) throw new TypeError(`not a tag: ${JSON.stringify(tag)}`);
    return repositoryPath(name, '_tags', tag);
  };
  const referrersPath = (name: string, subject: string) =>
    repositoryPath(name, '_referrers', ...splitDigest(subject));
  const uploadPath = (id: string, file: 'data' | 'session.json') => {
    if (!UPLOAD_ID.test(id)) throw notFound(`upload ${id}`);
    return join(uploadsRoot, id, file);
  };
  // Whole small files: written aside, renamed into place.
  const writeAtomically = async (path: string, content: Uint8Array | string) => {
    const temporary = join(temporaryRoot, randomUUID());
    await writeFile(temporary, content);
    await mkdir(dirname(path), { recursive: true });
    await rename(temporary, path);
  };
  const touch = async (path: string) => {
    const now = new Date();
    await utimes(path, now, now).catch(ignoreMissing);
  };
  const appending = new Set<string>();
  // What a registry reads on every manifest request, kept in memory: the store's files
  // change only through this object (one server per store directory).
  const tags = new Map<string, string>(); // `${name}:${tag}` → digest
  const manifests = new Map<string, string>(); // `${name}@${digest}` → media type
  const small = new SmallBlobCache();

  const session = async (id: string): Promise<UploadSession | undefined> => {
    if (!UPLOAD_ID.test(id)) return undefined;
    const saved = await readText(uploadPath(id, 'session.json'));
    const data = await stat(uploadPath(id, 'data')).catch(ignoreMissing);
    if (saved === undefined || data === undefined) return undefined;
    const { repository, started } = JSON.parse(saved) as { repository: string; started: number };
    return { id, repository, size: data.size, started, updated: data.mtimeMs };
  };

  return {
    async blobInfo(digest) {
      const found = await stat(blobPath(digest)).catch(ignoreMissing);
      return found === undefined ? undefined : { size: found.size, modified: found.mtimeMs };
    },
    async *readBlob(digest, range, signal) {
      const cached = small.get(digest);
      if (cached !== undefined) {
        yield range === undefined ? cached : cached.subarray(range.start, range.end);
        return;
      }
      const path = blobPath(digest);
      const found = await stat(path).catch(ignoreMissing);
      if (found === undefined) throw notFound(`blob ${digest}`);
      if (range === undefined && found.size <= SmallBlobCache.MAX_BLOB) {
        const read = await readFile(path).catch(ignoreMissing);
        if (read === undefined) throw notFound(`blob ${digest}`);
        const bytes = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
        small.set(digest, bytes);
        yield bytes;
        return;
      }
      const length = range === undefined ? found.size : range.end - range.start;
      // A manifest is read in one small buffer, not a 1 MiB one.
      yield* readFileChunks(path, {
        chunkSize: Math.max(1, Math.min(length, 1024 * 1024)),
        ...(range === undefined ? {} : { start: range.start, length }),
        ...(signal === undefined ? {} : { signal }),
      });
    },
    async openBlobFile(digest) {
      return open(blobPath(digest)).catch(ignoreMissing);
    },
    async putBlob(digest, bytes) {
      const path = blobPath(digest);
      if ((await stat(path).catch(ignoreMissing)) !== undefined) return touch(path);
      await writeAtomically(path, bytes);
      if (bytes.byteLength <= SmallBlobCache.MAX_BLOB) small.set(digest, bytes.slice());
    },
    async deleteBlob(digest) {
      small.delete(digest);
      await rm(blobPath(digest), { force: true });
    },
    async *listBlobs(signal) {
      for (const algorithm of await list(blobsRoot)) {
        for (const prefix of await list(join(blobsRoot, algorithm))) {
          for (const encoded of await list(join(blobsRoot, algorithm, prefix))) {
            signal?.throwIfAborted();
            // A foreign file (an editor's backup, a half-copied blob) is no blob.
            if (!isDigest(`${algorithm}:${encoded}`)) continue;
            const found = await stat(join(blobsRoot, algorithm, prefix, encoded)).catch(ignoreMissing);
            if (found === undefined) continue;
            yield {
              digest: `${algorithm}:${encoded}`,
              size: found.size,
              modified: found.mtimeMs,
            } as StoredBlobEntry;
          }
        }
      }
    },

    async createUpload(repository) {
      if (!isRepositoryName(repository))
        throw new TypeError(`not a repository name: ${JSON.stringify(repository)}`);
      const id = randomUUID();
      const started = Date.now();
      // The data file first: a session is whole once its session.json is in place.
      await mkdir(join(uploadsRoot, id));
      await writeFile(uploadPath(id, 'data'), new Uint8Array(0));
      await writeAtomically(uploadPath(id, 'session.json'), JSON.stringify({ repository, started }));
      return { id, repository, size: 0, started, updated: started };
    },
    uploadSession: session,
    async appendUpload(id, offset, body) {
      if (appending.has(id)) {
        throw new ServerError('ERR_STORE_OFFSET', `upload ${id} is receiving another chunk`, { subject: id });
      }
      appending.add(id);
      try {
        const found = await session(id);
        if (found === undefined) throw notFound(`upload ${id}`);
        if (found.size !== offset) throw wrongOffset(id, found.size, offset);
        const file = await openFileAppender(uploadPath(id, 'data'));
        let size = offset;
        try {
          for await (const chunk of body) {
            await file.write(chunk);
            size += chunk.byteLength;
          }
        } finally {
          await file.close();
        }
        return size;
      } finally {
        appending.delete(id);
      }
    },
    async *readUpload(id, signal) {
      const path = uploadPath(id, 'data');
      if ((await stat(path).catch(ignoreMissing)) === undefined) throw notFound(`upload ${id}`);
      yield* readFileChunks(path, signal === undefined ? {} : { signal });
    },
    async commitUpload(id, digest) {
      const data = uploadPath(id, 'data');
      const path = blobPath(digest);
      await mkdir(dirname(path), { recursive: true });
      try {
        await rename(data, path);
      } catch (error) {
        throw isMissing(error) ? notFound(`upload ${id}`) : error;
      }
      await rm(join(uploadsRoot, id), { recursive: true, force: true });
    },
    async deleteUpload(id) {
      if (!UPLOAD_ID.test(id)) return;
      // session.json first: a session without it is no session, whatever is left.
      await rm(uploadPath(id, 'session.json'), { force: true });
      await rm(join(uploadsRoot, id), { recursive: true, force: true });
    },
    async *listUploads(signal) {
      for (const id of await list(uploadsRoot)) {
        signal?.throwIfAborted();
        if (!UPLOAD_ID.test(id)) continue;
        const found = await session(id).catch(() => undefined);
        if (found !== undefined) yield found;
      }
    },

    async linkBlob(name, digest) {
      const path = linkPath('_layers', name, digest);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, '');
      await touch(blobPath(digest)); // garbage collection spares what was linked lately
    },
    async hasBlobLink(name, digest) {
      return (await stat(linkPath('_layers', name, digest)).catch(ignoreMissing)) !== undefined;
    },
    async unlinkBlob(name, digest) {
      await rm(linkPath('_layers', name, digest), { force: true });
    },
    async *listBlobLinks(name, signal) {
      yield* listDigests(repositoryPath(name, '_layers'), signal);
    },

    async linkManifest(name, digest, mediaType) {
      await writeAtomically(linkPath('_manifests', name, digest), mediaType);
      manifests.set(`${name}@${digest}`, mediaType);
      await touch(blobPath(digest));
    },
    async manifestMediaType(name, digest) {
      const key = `${name}@${digest}`;
      const cached = manifests.get(key);
      if (cached !== undefined) return cached;
      const found = await readText(linkPath('_manifests', name, digest));
      if (found !== undefined) manifests.set(key, found);
      return found;
    },
    async unlinkManifest(name, digest) {
      manifests.delete(`${name}@${digest}`);
      await rm(linkPath('_manifests', name, digest), { force: true });
    },
    async *listManifests(name, signal) {
      for await (const digest of listDigests(repositoryPath(name, '_manifests'), signal)) {
        const mediaType = await readText(linkPath('_manifests', name, digest));
        if (mediaType !== undefined) yield { digest, mediaType };
      }
    },

    async getTag(name, tag) {
      const key = `${name}:${tag}`;
      const cached = tags.get(key);
      if (cached !== undefined) return cached;
      const found = await readText(tagPath(name, tag));
      if (found !== undefined) tags.set(key, found);
      return found;
    },
    async setTag(name, tag, digest) {
      await writeAtomically(tagPath(name, tag), digest);
      tags.set(`${name}:${tag}`, digest);
    },
    async deleteTag(name, tag) {
      tags.delete(`${name}:${tag}`);
      await rm(tagPath(name, tag), { force: true });
    },
    async listTags(name) {
      return (await list(repositoryPath(name, '_tags'))).filter(isTag).sort(compareStrings);
    },

    async addReferrer(name, subject, referrer) {
      const file = splitDigest(referrer.digest).join('-');
      await writeAtomically(join(referrersPath(name, subject), file), JSON.stringify(referrer));
    },
    async removeReferrer(name, subject, referrer) {
      await rm(join(referrersPath(name, subject), splitDigest(referrer).join('-')), { force: true });
    },
    async listReferrers(name, subject) {
      const directory = referrersPath(name, subject);
      const found: Descriptor[] = [];
      for (const file of (await list(directory)).sort(compareStrings)) {
        const text = await readText(join(directory, file));
        if (text !== undefined) found.push(JSON.parse(text) as Descriptor);
      }
      return found;
    },

    async listRepositories() {
      const found: string[] = [];
      const walk = async (name: string) => {
        const directory = name === '' ? repositoriesRoot : join(repositoriesRoot, name);
        const entries = await list(directory);
        if (name !== '' && (await holdsAnything(directory))) found.push(name);
        for (const entry of entries) {
          if (!entry.startsWith('_')) await walk(name === '' ? entry : `${name}/${entry}`);
        }
      };
      await walk('');
      return found.sort(compareStrings);
    },
  };
}

/** Small blobs (manifests, configs) in memory, up to 32 MiB in all, the oldest dropped first. */
class SmallBlobCache {
  static readonly MAX_BLOB = 256 * 1024;
  static readonly MAX_TOTAL = 32 * 1024 * 1024;
  readonly #blobs = new Map<string, Uint8Array>();
  #total = 0;

  get(digest: string): Uint8Array | undefined {
    return this.#blobs.get(digest);
  }

  set(digest: string, bytes: Uint8Array): void {
    if (this.#blobs.has(digest) || bytes.byteLength > SmallBlobCache.MAX_BLOB) return;
    this.#blobs.set(digest, bytes);
    this.#total += bytes.byteLength;
    for (const [oldest, dropped] of this.#blobs) {
      if (this.#total <= SmallBlobCache.MAX_TOTAL) break;
      this.#blobs.delete(oldest);
      this.#total -= dropped.byteLength;
    }
  }

  delete(digest: string): void {
    const bytes = this.#blobs.get(digest);
    if (bytes === undefined) return;
    this.#blobs.delete(digest);
    this.#total -= bytes.byteLength;
  }
}

// A session id is a UUID the store made: anything else names no file.
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A digest's two parts as path components; the digest grammar (isDigest) lets neither
// leave a directory.
function splitDigest(digest: string): [string, string] {
  if (!isDigest(digest)) throw new TypeError(`not a digest: ${JSON.stringify(digest)}`);
  const colon = digest.indexOf(':');
  return [digest.slice(0, colon), digest.slice(colon + 1)];
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function ignoreMissing(error: unknown): undefined {
  if (isMissing(error)) return undefined;
  throw error;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(ignoreMissing);
}

async function list(directory: string): Promise<string[]> {
  return (await readdir(directory).catch(ignoreMissing)) ?? [];
}

async function* listDigests(directory: string, signal: AbortSignal | undefined): AsyncGenerator<string> {
  for (const algorithm of await list(directory)) {
    for (const encoded of await list(join(directory, algorithm))) {
      signal?.throwIfAborted();
      const digest = `${algorithm}:${encoded}`;
      if (isDigest(digest)) yield digest;
    }
  }
}

// A repository holds something while it has a blob link, a manifest or a tag.
async function holdsAnything(directory: string): Promise<boolean> {
  if ((await list(join(directory, '_tags'))).length > 0) return true;
  for (const kind of ['_manifests', '_layers']) {
    for (const algorithm of await list(join(directory, kind))) {
      if ((await list(join(directory, kind, algorithm))).length > 0) return true;
    }
  }
  return false;
}
