// `oci-archive:`: a tar of an OCI image layout, as skopeo writes and reads it. Reading
// reads the tar once through to note where each file's bytes are, then reads blobs by
// byte range: no temporary directory, nothing held in memory but the index of names.
// Writing streams one tar; blobs go in as they come, index.json last.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type TarEntryInput, writeTar } from '@stevedore/archive';
import { parseDigest, verifyBytes, verifyStream } from '@stevedore/digest';
import { type ImageDestination, type ImageNode, writeImageNode } from '@stevedore/image';
import { createAtomicFileWriter, readFileReusing } from '@stevedore/image/node';
import { type Descriptor, type ImageIndex, MediaTypes, serializeManifest } from '@stevedore/manifest';
import { checkRefName, indexEntry, type LayoutFiles, OCI_LAYOUT_VERSION, readIndexOf } from './oci-layout.ts';
import {
  type ReadOciLayoutOptions,
  readLayoutNode,
  tagsOf,
  type WriteOciLayoutOptions,
} from './oci-layout-io.ts';
import { indexTarFile } from './tar-file.ts';

/**
 * Reads an image, index or artifact from an `oci-archive:` tar by tag or digest, or its
 * only entry. The archive is read once through to index its names; blobs are then read
 * by byte range and verified as they stream.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` for a compressed or malformed archive;
 *   `ERR_TAG_NOT_FOUND`, `ERR_AMBIGUOUS_REFERENCE`; archive errors for a truncated tar.
 */
export async function readOciArchive(path: string, options: ReadOciLayoutOptions = {}): Promise<ImageNode> {
  return readLayoutNode(await archiveLayoutFiles(path, options.signal), options);
}

/**
 * The tags of an `oci-archive:`'s `index.json` entries, in order.
 * @throws {TransportError} `ERR_LAYOUT_INVALID`.
 */
export async function listOciArchiveTags(path: string): Promise<string[]> {
  return tagsOf(await readIndexOf(await archiveLayoutFiles(path, undefined)));
}

async function archiveLayoutFiles(path: string, signal: AbortSignal | undefined): Promise<LayoutFiles> {
  const tar = await indexTarFile(path, 'oci-archive', signal);
  return {
    name: path,
    read: (name) => tar.read(name, signal === undefined ? {} : { signal }),
    blobs: {
      async openBlob(descriptor, options = {}) {
        const digest = parseDigest(descriptor.digest);
        return tar.open(`blobs/${digest.algorithm}/${digest.encoded}`, options);
      },
    },
  };
}

/**
 * Writes an image, index or artifact as an `oci-archive:` tar (deterministic: fixed
 * times and owners), to a temporary name beside `path`, renamed when complete.
 * @throws {TransportError} `ERR_TAG_INVALID`; digest errors for blobs that are not what they say.
 */
export async function writeOciArchive(
  path: string,
  node: ImageNode,
  options: WriteOciLayoutOptions = {},
): Promise<void> {
  const destination = await openOciArchiveDestination(path);
  try {
    await writeImageNode(node, destination, options);
  } finally {
    await destination.close();
  }
}

/**
 * An `oci-archive:` tar as an `ImageDestination`: each blob becomes a tar entry as it is
 * put (streamed and verified), `commit` adds `index.json` and moves the finished tar to
 * `path`; `close` without `commit` leaves nothing behind.
 */
export async function openOciArchiveDestination(path: string): Promise<ImageDestination> {
  await mkdir(dirname(path), { recursive: true });
  const channel = new EntryChannel();
  const file = await createAtomicFileWriter({ temporaryDirectory: dirname(path) });
  const writing = (async () => {
    for await (const chunk of writeTar(channel)) await file.write(chunk);
  })();
  writing.catch(() => {}); // observed by every put and by commit
  const written = new Set<string>();
  // The index.json entry of the last manifest written.
  let last: Descriptor | undefined;
  let finished = false;

  const add = async (entry: TarEntryInput) => {
    await Promise.race([
      channel.push(entry),
      writing.then(() => Promise.reject(new Error('the archive is closed'))),
    ]);
  };
  // `content` is verified by the caller, or as it streams.
  const addBlob = async (descriptor: Descriptor, content: Uint8Array | AsyncIterable<Uint8Array>) => {
    const digest = parseDigest(descriptor.digest);
    await add({
      name: `blobs/${digest.algorithm}/${digest.encoded}`,
      type: 'file',
      size: descriptor.size,
      content,
    });
    written.add(descriptor.digest);
  };
  const verified = (
    descriptor: Descriptor,
    content: AsyncIterable<Uint8Array>,
    options: { readonly signal?: AbortSignal },
  ) => verifyStream(content, { digest: descriptor.digest, size: descriptor.size }, options);
  await add({
    name: 'oci-layout',
    type: 'file',
    content: new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })),
  });

  return {
    // writeTar copies a chunk into its output buffer or yields it, and the file writer
    // copies what it is given, before the next chunk is asked for.
    transientChunks: true,
    async hasBlob(descriptor) {
      return written.has(descriptor.digest);
    },
    async putBlob(descriptor, content, options = {}) {
      if (written.has(descriptor.digest)) return;
      await addBlob(descriptor, verified(descriptor, content, options));
    },
    async putBlobFile(descriptor, path, options = {}) {
      if (written.has(descriptor.digest)) return;
      // A buffer is read into again once the archive has written what it held.
      const ring = readFileReusing(path, {
        release: () => file.flush(),
        ...(options.signal && { signal: options.signal }),
      });
      const content = (async function* () {
        let bytes = 0;
        for await (const { chunk } of ring) {
          yield chunk;
          bytes += chunk.byteLength;
          options.onBytes?.(bytes);
        }
      })();
      await addBlob(descriptor, verified(descriptor, content, options));
    },
    async putManifest(descriptor, manifest, options = {}) {
      const tag = options.tag === undefined ? undefined : checkRefName(options.tag);
      await verifyBytes(manifest.bytes, descriptor);
      if (!written.has(descriptor.digest)) await addBlob(descriptor, manifest.bytes);
      last = indexEntry(descriptor, manifest.mediaType, tag);
    },
    async commit() {
      if (last === undefined) return;
      const index: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests: [last] };
      await add({ name: 'index.json', type: 'file', content: serializeManifest(index) });
      channel.close();
      await writing;
      await file.commit(path);
      finished = true;
    },
    async close() {
      if (finished) return;
      channel.close(new Error('the archive was closed before commit'));
      await writing.catch(() => {});
      await file.abort();
    },
  };
}

/**
 * Entries pushed by a producer and pulled by `writeTar`; a push resolves once the entry's
 * content has been written (or fails with the error that stopped it).
 */
class EntryChannel implements AsyncIterable<TarEntryInput> {
  readonly #queue: TarEntryInput[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: unknown;

  push(entry: TarEntryInput): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const source = entry.content;
      async function* content(): AsyncGenerator<Uint8Array> {
        try {
          if (source instanceof Uint8Array) yield source;
          else if (source !== undefined) yield* source as AsyncIterable<Uint8Array>;
          resolve();
        } catch (error) {
          reject(error);
          throw error;
        }
      }
      // The content is wrapped, so the size of bytes given whole is said here.
      const size = entry.size ?? (source instanceof Uint8Array ? source.length : undefined);
      this.#queue.push({ ...entry, ...(size === undefined ? {} : { size }), content: content() });
      this.#wake?.();
    });
  }

  close(error?: unknown): void {
    this.#closed = true;
    this.#error = error;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TarEntryInput> {
    while (true) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
