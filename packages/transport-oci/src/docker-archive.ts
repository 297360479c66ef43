// Reading `docker save` tars (writing: docker-archive-write.ts).
import { detectCompression } from '@stevedore/archive';
import { collectBytes, computeDigest, isDigest } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { assembleImage, type Image, type ImageFormat, type Layer } from '@stevedore/image';
import { MediaTypes, parseImageConfig } from '@stevedore/manifest';
import type { DockerArchiveEntry } from './docker-archive-write.ts';
import { TransportError } from './errors.ts';
import { indexTarFile, normalizeName, type TarFile } from './tar-file.ts';

/** Options for {@link readDockerArchive}: which image of the archive. */
export interface ReadDockerArchiveOptions {
  /** A RepoTag (`name:tag`) of the image. */
  readonly tag?: string;
  /** The image's position in `manifest.json` (`@N` in skopeo's syntax). */
  readonly index?: number;
  /**
   * The manifest format to describe the image in (default `docker`, as skopeo reads it).
   * A docker-archive holds no manifest, so this changes no bytes that were stored:
   * choose `oci` for an image bound for an OCI layout, where skopeo finds only OCI
   * manifests by tag.
   */
  readonly format?: ImageFormat;
  readonly signal?: AbortSignal;
}

/**
 * Reads an image from a `docker save` tar, classic or OCI-embedding: the archive is read
 * once through to index its names, then the config and layers are read by byte range.
 * The image is described in `format` (Docker schema 2 by default) with the archive's
 * layers as they are: an uncompressed layer's digest is its diff_id; a compressed one's
 * is its `blobs/<algorithm>/<encoded>` name in an OCI-embedding archive, else its hash.
 *
 * @throws {TransportError} `ERR_LAYOUT_INVALID` naming a missing or malformed part;
 *   `ERR_TAG_NOT_FOUND`, `ERR_AMBIGUOUS_REFERENCE` naming the tags available.
 */
export async function readDockerArchive(
  path: string,
  options: ReadDockerArchiveOptions = {},
): Promise<Image> {
  const tar = await indexTarFile(path, 'docker-archive', options.signal);
  const entries = await readManifest(tar, options);
  const entry = selectImage(path, entries, options);
  const configBytes = await tar.read(entry.Config, options);
  if (configBytes === undefined) throw missing(path, entry.Config);
  const config = parseImageConfig(configBytes);
  const layers: Layer[] = [];
  for (const [position, name] of entry.Layers.entries()) {
    layers.push(await archiveLayer(tar, name, config.rootfs.diff_ids[position], options.signal));
  }
  return assembleImage(config, layers, {
    format: options.format ?? 'docker',
    ...(options.tag === undefined ? {} : { tag: options.tag }),
  });
}

/**
 * The RepoTags of every image in a `docker save` tar, in order.
 * @throws {TransportError} `ERR_LAYOUT_INVALID`.
 */
export async function listDockerArchiveTags(path: string): Promise<string[]> {
  const entries = await readManifest(await indexTarFile(path, 'docker-archive'));
  return entries.flatMap((entry) => entry.RepoTags ?? []);
}

async function readManifest(
  tar: TarFile,
  options: { readonly signal?: AbortSignal } = {},
): Promise<DockerArchiveEntry[]> {
  const bytes = await tar.read('manifest.json', options);
  if (bytes === undefined) throw missing(tar.path, 'manifest.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    parsed = undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (entry) =>
        typeof entry?.Config === 'string' &&
        Array.isArray(entry.Layers) &&
        entry.Layers.every((layer: unknown) => typeof layer === 'string'),
    );
  if (!valid || (parsed as unknown[]).length === 0) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${tar.path}: manifest.json is not a list of images (Config, Layers)`,
      {
        path: tar.path,
      },
    );
  }
  return parsed as DockerArchiveEntry[];
}

function selectImage(
  path: string,
  entries: readonly DockerArchiveEntry[],
  options: ReadDockerArchiveOptions,
): DockerArchiveEntry {
  const tags = entries.flatMap((entry) => entry.RepoTags ?? []);
  if (options.index !== undefined) {
    const entry = entries[options.index];
    if (entry === undefined) {
      throw new TransportError(
        'ERR_TAG_NOT_FOUND',
        `${path} has ${entries.length} images; no @${options.index}`,
        {
          path,
          reference: `@${options.index}`,
          available: tags,
        },
      );
    }
    return entry;
  }
  const wanted = options.tag === undefined ? undefined : familiarTag(options.tag);
  const matching =
    wanted === undefined
      ? entries
      : entries.filter((entry) => entry.RepoTags?.some((tag) => familiarTag(tag) === wanted));
  if (matching.length === 1 && matching[0] !== undefined) return matching[0];
  throw new TransportError(
    matching.length === 0 ? 'ERR_TAG_NOT_FOUND' : 'ERR_AMBIGUOUS_REFERENCE',
    `${path} has ${matching.length === 0 ? 'no image' : `${matching.length} images`}${options.tag === undefined ? '' : ` tagged ${excerpt(options.tag)}`}; name one by tag or @index (tags: ${tags.join(', ') || 'none'})`,
    { path, available: tags, ...(options.tag === undefined ? {} : { reference: options.tag }) },
  );
}

async function archiveLayer(
  tar: TarFile,
  name: string,
  diffId: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Layer> {
  const size = tar.size(name);
  if (size === undefined) throw missing(tar.path, name);
  if (diffId === undefined) {
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `${tar.path}: the config lists fewer diff_ids than manifest.json lists layers`,
      {
        path: tar.path,
      },
    );
  }
  const head = await collectBytes(
    tar.open(name, { length: 4, ...(signal && { signal }) }) ?? new Uint8Array(0),
    signal,
  );
  const compression = detectCompression(head.subarray(0, 4));
  // Uncompressed, the blob is the layer tar: its digest is the diff_id. A compressed blob
  // (some newer archives) is named by its path when that is `blobs/<algorithm>/<encoded>`
  // (its bytes are verified as they stream), else hashed once.
  const digest =
    compression === 'none' ? diffId : (digestOfName(name) ?? (await hashLayer(tar, name, signal)));
  const mediaType =
    compression === 'gzip'
      ? MediaTypes.DockerLayerGzip
      : compression === 'zstd'
        ? MediaTypes.OciLayerZstd
        : MediaTypes.DockerLayer;
  return {
    descriptor: { mediaType, digest, size },
    diffId,
    blobs: {
      async openBlob(descriptor, options = {}) {
        return descriptor.digest === digest ? tar.open(name, options) : undefined;
      },
    },
  };
}

/** The digest an OCI-embedding archive names a blob by (`blobs/sha256/<hex>`), if it does. */
function digestOfName(name: string): string | undefined {
  const parts = /^blobs\/([^/]+)\/([^/]+)$/.exec(normalizeName(name));
  const digest = parts === null ? undefined : `${parts[1]}:${parts[2]}`;
  return isDigest(digest) ? digest : undefined;
}

async function hashLayer(tar: TarFile, name: string, signal: AbortSignal | undefined): Promise<string> {
  const options = signal === undefined ? {} : { signal };
  return (await computeDigest(tar.open(name, options) ?? new Uint8Array(0), 'sha256', options)).toString();
}

// Docker writes `app:v1`, skopeo `docker.io/library/app:v1`: the same image. (Full
// reference parsing belongs to the registry transport.)
function familiarTag(tag: string): string {
  return tag.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

function missing(path: string, name: string): TransportError {
  return new TransportError(
    'ERR_LAYOUT_INVALID',
    `${path}: ${excerpt(normalizeName(name))} is missing from the archive`,
    {
      path,
    },
  );
}
