// `static:`: an image as the file tree of a pull-only registry, for any static file host.
// `v2/<name>/manifests/<tag>` and `…/manifests/<digest>` hold manifests, `v2/<name>/blobs/
// <digest>` blobs, `v2/<name>/tags/list` the tags; `static-content-types.json` maps each
// file to the Content-Type a registry sends (object stores take it per object), and
// `static-nginx.conf` does the same for nginx. Files are written verified and renamed.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest, verifyBytes } from '@stevedore/digest';
import { excerpt, StevedoreError } from '@stevedore/errors';
import {
  type ImageDestination,
  type ImageNode,
  loadImageNode,
  readBlobBytes,
  type TransferOptions,
  writeImageNode,
} from '@stevedore/image';
import { type Descriptor, MAX_MANIFEST_SIZE, parseManifest } from '@stevedore/manifest';
import { blobFileStore, blobFiles, writeFileAtomic } from './blob-files.ts';
import { TransportError } from './errors.ts';
import { checkRefName } from './oci-layout.ts';

/** The file that maps each served path to its Content-Type. */
export const STATIC_CONTENT_TYPES = 'static-content-types.json';
/** The nginx snippet that serves the tree with the right Content-Types. */
export const STATIC_NGINX_CONF = 'static-nginx.conf';

// distribution-spec: a repository name is path components of [a-z0-9]+ joined by . _ __ or -.
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

function checkName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 255) {
    throw new TransportError(
      'ERR_TAG_INVALID',
      `invalid repository name ${excerpt(name)}: lowercase letters and digits, joined by . _ __ - or /`,
      { reference: String(name) },
    );
  }
  return name;
}

/** The file of a blob or manifest by digest: `v2/<name>/<folder>/<digest>`. */
function digestPath(base: string, folder: 'blobs' | 'manifests', digest: string): string {
  return join(base, folder, parseDigest(digest).toString());
}

/** A small JSON file of the tree, or `fallback` when it is absent or not JSON. */
async function readJsonFile<T>(path: string, fallback: T, signal?: AbortSignal): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', ...(signal && { signal }) });
  } catch {
    signal?.throwIfAborted();
    return fallback;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Options for {@link writeStatic} and {@link readStatic}. */
export interface StaticOptions {
  /** The repository name clients pull: `app` or `team/app`. */
  readonly name: string;
  /** The tag to write or read; writing defaults to the image's tag, else `latest`. */
  readonly tag?: string;
  /** For reading: a manifest digest instead of a tag. */
  readonly digest?: string;
  readonly signal?: AbortSignal;
}

/**
 * Writes an image, index or artifact as the static file tree of a pull-only registry.
 * Several tags and repositories can share one tree; `tags/list` and the content-type
 * files are updated. Serve the tree with the Content-Types of `static-content-types.json`
 * (or the nginx snippet) and clients pull `HOST/<name>:<tag>` from it.
 *
 * @throws {TransportError} `ERR_TAG_INVALID` for a bad name or tag; digest errors for
 *   blobs that are not what they say.
 */
export async function writeStatic(
  root: string,
  node: ImageNode,
  options: StaticOptions & TransferOptions,
): Promise<void> {
  const { name: given, digest: _digest, ...transfer } = options;
  const name = checkName(given);
  const tag = checkRefName(options.tag ?? node.tag ?? 'latest');
  const destination = await openStaticDestination(root, name);
  try {
    await writeImageNode(node, destination, { ...transfer, tag });
  } finally {
    await destination.close();
  }
}

/**
 * Opens a static registry tree for writing one repository.
 * @throws {TransportError} `ERR_TAG_INVALID` for a bad repository name.
 */
export async function openStaticDestination(root: string, repository: string): Promise<ImageDestination> {
  const name = checkName(repository);
  const base = join(root, 'v2', ...name.split('/'));
  await mkdir(base, { recursive: true });
  const types = new Map<string, string>();
  let tag: string | undefined;
  let top: Descriptor | undefined;
  let topBytes: Uint8Array | undefined;

  const write = (path: string, content: Uint8Array) => writeFileAtomic(path, content, root);
  return {
    // Every blob the image has, written now or by an earlier copy, is served as bytes.
    ...blobFileStore(
      (descriptor) => digestPath(base, 'blobs', descriptor.digest),
      root,
      (descriptor) => types.set(`/v2/${name}/blobs/${descriptor.digest}`, 'application/octet-stream'),
    ),
    async putManifest(descriptor, manifest, options = {}) {
      await verifyBytes(manifest.bytes, descriptor);
      await write(digestPath(base, 'manifests', descriptor.digest), manifest.bytes);
      types.set(`/v2/${name}/manifests/${descriptor.digest}`, manifest.mediaType);
      top = { mediaType: manifest.mediaType, digest: descriptor.digest, size: descriptor.size };
      topBytes = manifest.bytes;
      if (options.tag !== undefined) tag = checkRefName(options.tag);
    },
    async commit() {
      if (top === undefined || topBytes === undefined) return;
      if (tag !== undefined) {
        await write(join(base, 'manifests', tag), topBytes);
        types.set(`/v2/${name}/manifests/${tag}`, top.mediaType);
        const listPath = join(base, 'tags', 'list');
        const existing = await readJsonFile<{ tags?: unknown } | null>(listPath, null);
        const tags = [...new Set([...stringsOf(existing?.tags), tag])].sort();
        await write(listPath, new TextEncoder().encode(JSON.stringify({ name, tags })));
        types.set(`/v2/${name}/tags/list`, 'application/json');
      }
      await writeContentTypes(root, types);
      types.clear();
    },
    async close() {},
  };
}

async function writeContentTypes(root: string, added: ReadonlyMap<string, string>): Promise<void> {
  const path = join(root, STATIC_CONTENT_TYPES);
  const existing = await readJsonFile<Record<string, string>>(path, {});
  const all: Record<string, string> = {
    '/v2/': 'application/json',
    ...existing,
    ...Object.fromEntries(added),
  };
  const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(sorted, null, 2)}\n`), root);
  // nginx: exact locations per file for the media types, and the /v2/ ping answered with {}.
  const lines = [
    '# Generated by Stevedore: serve this tree as a pull-only registry (include in a server block).',
    "location = /v2/ { default_type application/json; add_header Docker-Distribution-API-Version registry/2.0; return 200 '{}'; }",
    ...Object.entries(sorted)
      .filter(([path]) => path !== '/v2/')
      .map(([path, type]) => `location = ${path} { default_type ${type}; types { } }`),
    '',
  ];
  await writeFileAtomic(join(root, STATIC_NGINX_CONF), new TextEncoder().encode(lines.join('\n')), root);
}

/**
 * Reads an image, index or artifact back from a static registry tree, by tag or digest.
 * A manifest read by digest is verified against it.
 * @throws {TransportError} `ERR_TAG_NOT_FOUND` when the tree has no such manifest;
 *   `DigestError` `ERR_DIGEST_INVALID` for a malformed digest, `ERR_DIGEST_MISMATCH` when
 *   the file under a digest holds other bytes.
 */
export async function readStatic(root: string, options: StaticOptions): Promise<ImageNode> {
  const name = checkName(options.name);
  const base = join(root, 'v2', ...name.split('/'));
  const reference = options.digest ?? checkRefName(options.tag ?? 'latest');
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const source = (folder: 'blobs' | 'manifests') =>
    blobFiles((descriptor) => digestPath(base, folder, descriptor.digest));
  const notFound = (cause?: unknown) =>
    new TransportError('ERR_TAG_NOT_FOUND', `${root} has no manifest ${name}:${reference}`, {
      path: root,
      reference,
      ...(cause === undefined ? {} : { cause }),
    });
  let bytes: Uint8Array;
  if (options.digest === undefined) {
    const read = await readFile(join(base, 'manifests', reference), signal).catch(() => undefined);
    options.signal?.throwIfAborted();
    if (read === undefined) throw notFound();
    bytes = new Uint8Array(read);
  } else {
    // As a layout read by digest: the media type comes from the bytes, which must hash to it.
    const digest = parseDigest(options.digest).toString();
    const descriptor = { mediaType: 'application/octet-stream', digest, size: -1 };
    bytes = await readBlobBytes(source('manifests'), descriptor, {
      ...signal,
      limit: MAX_MANIFEST_SIZE,
    }).catch((error: unknown) => {
      throw StevedoreError.is(error, 'ERR_BLOB_NOT_FOUND') ? notFound(error) : error;
    });
  }
  const types = await readJsonFile<Record<string, string>>(
    join(root, STATIC_CONTENT_TYPES),
    {},
    options.signal,
  );
  const manifest = await parseManifest(bytes, types[`/v2/${name}/manifests/${reference}`]);
  return loadImageNode(manifest, {
    blobs: source('blobs'),
    manifests: source('manifests'),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...signal,
  });
}

/**
 * The tags of a repository in a static registry tree (its `tags/list`), sorted.
 * @throws {TransportError} `ERR_TAG_INVALID` for a bad name; `ERR_TAG_NOT_FOUND` when the
 *   tree has no such repository.
 */
export async function listStaticTags(root: string, name: string): Promise<string[]> {
  const path = join(root, 'v2', ...checkName(name).split('/'), 'tags', 'list');
  const list = await readJsonFile<{ tags?: unknown } | null | undefined>(path, undefined);
  if (list === undefined) {
    throw new TransportError('ERR_TAG_NOT_FOUND', `${root} has no repository ${name}`, {
      path: root,
      reference: name,
    });
  }
  return stringsOf(list?.tags).sort();
}

/** The strings of a JSON value that should be a list of them. */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
