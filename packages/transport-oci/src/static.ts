// `static:`: an image as the file tree of a pull-only registry, for any static file host.
// `v2/<name>/manifests/<tag>` and `…/manifests/<digest>` hold manifests, `v2/<name>/blobs/
// <digest>` blobs, `v2/<name>/tags/list` the tags; `static-content-types.json` maps each
// file to the Content-Type a registry sends (object stores take it per object), and
// `static-nginx.conf` does the same for nginx. Files are written verified and renamed.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { verifyBytes, verifyStream } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import {
  type ImageDestination,
  type ImageNode,
  loadImageNode,
  type TransferOptions,
  writeImageNode,
} from '@stevedore/image';
import { copyVerifiedFile } from '@stevedore/image/node';
import { type Descriptor, parseManifest } from '@stevedore/manifest';
import { blobFiles, hasBlobFile } from './blob-files.ts';
import { TransportError } from './errors.ts';
import { checkRefName, writeFileAtomic } from './oci-layout.ts';

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

  const blobFile = (digest: string) => join(base, 'blobs', digest);
  const hasBlob = (descriptor: Descriptor) => hasBlobFile(blobFile(descriptor.digest), descriptor);
  const write = async (path: string, content: Uint8Array | AsyncIterable<Uint8Array>) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, content, root);
  };
  return {
    hasBlob,
    async putBlob(descriptor, content) {
      types.set(`/v2/${name}/blobs/${descriptor.digest}`, 'application/octet-stream');
      if (await hasBlob(descriptor)) return;
      await write(
        blobFile(descriptor.digest),
        verifyStream(content, { digest: descriptor.digest, size: descriptor.size }),
      );
    },
    async putBlobFile(descriptor, file, options = {}) {
      types.set(`/v2/${name}/blobs/${descriptor.digest}`, 'application/octet-stream');
      if (await hasBlob(descriptor)) return;
      await copyVerifiedFile(file, blobFile(descriptor.digest), descriptor, {
        ...options,
        temporaryDirectory: root,
      });
    },
    async putManifest(descriptor, manifest, options = {}) {
      await verifyBytes(manifest.bytes, descriptor);
      await write(join(base, 'manifests', descriptor.digest), manifest.bytes);
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
        const existing = await readFile(listPath, 'utf8')
          .then((text) => (JSON.parse(text) as { tags?: string[] }).tags ?? [])
          .catch(() => []);
        const tags = [...new Set([...existing, tag])].sort();
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
  const existing = await readFile(path, 'utf8')
    .then((text) => JSON.parse(text) as Record<string, string>)
    .catch(() => ({}) as Record<string, string>);
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
 * @throws {TransportError} `ERR_TAG_NOT_FOUND` when the tree has no such manifest.
 */
export async function readStatic(root: string, options: StaticOptions): Promise<ImageNode> {
  const name = checkName(options.name);
  const base = join(root, 'v2', ...name.split('/'));
  const reference = options.digest ?? checkRefName(options.tag ?? 'latest');
  const bytes = await readFile(join(base, 'manifests', reference)).catch(() => undefined);
  if (bytes === undefined) {
    throw new TransportError('ERR_TAG_NOT_FOUND', `${root} has no manifest ${name}:${reference}`, {
      path: root,
      reference,
    });
  }
  const types = await readFile(join(root, STATIC_CONTENT_TYPES), 'utf8')
    .then((text) => JSON.parse(text) as Record<string, string>)
    .catch(() => ({}) as Record<string, string>);
  const manifest = await parseManifest(new Uint8Array(bytes), types[`/v2/${name}/manifests/${reference}`]);
  const source = (folder: 'blobs' | 'manifests') =>
    blobFiles((descriptor) => join(base, folder, descriptor.digest));
  return loadImageNode(manifest, {
    blobs: source('blobs'),
    manifests: source('manifests'),
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/**
 * The tags of a repository in a static registry tree (its `tags/list`), sorted.
 * @throws {TransportError} `ERR_TAG_INVALID` for a bad name; `ERR_TAG_NOT_FOUND` when the
 *   tree has no such repository.
 */
export async function listStaticTags(root: string, name: string): Promise<string[]> {
  const path = join(root, 'v2', ...checkName(name).split('/'), 'tags', 'list');
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new TransportError('ERR_TAG_NOT_FOUND', `${root} has no repository ${name}`, {
      path: root,
      reference: name,
    });
  }
  return ((JSON.parse(text) as { tags?: string[] }).tags ?? []).slice().sort();
}
