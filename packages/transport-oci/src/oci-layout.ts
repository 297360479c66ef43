// The OCI image layout (image-spec, image-layout.md): an `oci-layout` marker, an
// `index.json` of entry points, and `blobs/<algorithm>/<encoded>`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import type { BlobSource } from '@stevedore/image';
import { type Descriptor, type ImageIndex, MediaTypes, parseManifest } from '@stevedore/manifest';
import { blobFiles } from './blob-files.ts';
import { TransportError } from './errors.ts';

/** The annotation that names an entry of `index.json` (a tag). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** The content of the `oci-layout` file. */
export const OCI_LAYOUT_VERSION = '1.0.0';

// image-spec, annotations.md: ref.name conforms to
//   ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*;
//   alphanum ::= [A-Za-z0-9]+; separator ::= [-._:@+] | "--"
const REF_NAME =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/**
 * Checks a tag (an `org.opencontainers.image.ref.name`) by the image-spec grammar.
 * @throws {TransportError} `ERR_TAG_INVALID`.
 */
export function checkRefName(tag: string): string {
  if (typeof tag !== 'string' || !REF_NAME.test(tag)) {
    throw new TransportError(
      'ERR_TAG_INVALID',
      `invalid tag ${excerpt(tag)}: expected letters and digits joined by - . _ : @ + -- or /`,
      { reference: String(tag) },
    );
  }
  return tag;
}

/** The path of a blob in a layout. @throws {DigestError} `ERR_DIGEST_INVALID`. */
export function blobPath(root: string, digest: string): string {
  const parsed = parseDigest(digest);
  return join(root, 'blobs', parsed.algorithm, parsed.encoded);
}

/**
 * The `index.json` entry of a manifest: its media type, digest and size, named by `tag`
 * when one is given.
 * @internal
 */
export function indexEntry(
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  mediaType: string,
  tag: string | undefined,
): Descriptor {
  return {
    mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(tag === undefined ? {} : { annotations: { [REF_NAME_ANNOTATION]: tag } }),
  };
}

/** A blob source over a layout's `blobs/` directory. */
export function layoutBlobSource(root: string): BlobSource {
  return blobFiles((descriptor) => blobPath(root, descriptor.digest));
}

/**
 * The files of an OCI image layout, wherever they are: a directory, or a tar of one.
 * @internal
 */
export interface LayoutFiles {
  /** The layout's path, for messages. */
  readonly name: string;
  /** A small file of the layout (`oci-layout`, `index.json`), or undefined when absent. */
  read(path: string): Promise<Uint8Array | undefined>;
  readonly blobs: BlobSource;
}

/** @internal */
export function directoryLayoutFiles(root: string): LayoutFiles {
  return {
    name: root,
    read: async (path) =>
      readFile(join(root, path)).then(
        (bytes) => new Uint8Array(bytes),
        () => undefined,
      ),
    blobs: layoutBlobSource(root),
  };
}

/**
 * Reads and checks a layout's `oci-layout` marker and `index.json`.
 * @throws {TransportError} `ERR_LAYOUT_INVALID` naming the file that is missing or wrong.
 */
export async function readLayoutIndex(root: string): Promise<ImageIndex> {
  return readIndexOf(directoryLayoutFiles(root));
}

/** @internal */
export async function readIndexOf(files: LayoutFiles): Promise<ImageIndex> {
  const root = files.name;
  const markerBytes = await files.read('oci-layout');
  if (markerBytes === undefined) {
    throw new TransportError('ERR_LAYOUT_INVALID', `${root} is not an OCI image layout: no oci-layout file`, {
      path: root,
    });
  }
  const marker = new TextDecoder().decode(markerBytes);
  let version: unknown;
  try {
    version = (JSON.parse(marker) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== OCI_LAYOUT_VERSION) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${join(root, 'oci-layout')}: expected imageLayoutVersion "${OCI_LAYOUT_VERSION}", got ${excerpt(marker)}`,
      { path: join(root, 'oci-layout') },
    );
  }
  const path = join(root, 'index.json');
  const bytes = await files.read('index.json');
  if (bytes === undefined)
    throw new TransportError('ERR_LAYOUT_INVALID', `${root} has no index.json`, { path });
  try {
    const index = await parseManifest(bytes, MediaTypes.OciIndex);
    return index.json as ImageIndex;
  } catch (cause) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${path} is not a valid index: ${(cause as Error).message}`,
      {
        path,
        cause,
      },
    );
  }
}
