import {
  type Compression,
  isOpaqueWhiteout,
  isWhiteout,
  readTar,
  type TarEntryInput,
  type TarHeader,
  WHITEOUT_PREFIX,
  writeTar,
} from '@stevedore/archive';
import { excerpt } from '@stevedore/errors';
import {
  type BlobSink,
  createLayer,
  defaultBlobSink,
  type Image,
  type Index,
  imageLayers,
  type Layer,
  readLayerTar,
  reassembleImage,
} from '@stevedore/image';
import { MutateError } from './errors.ts';
import { applyPerPlatform, type PlatformOptions } from './per-platform.ts';

/** Options for {@link flatten}. */
export interface FlattenOptions extends PlatformOptions {
  /** The new layer's compression; default gzip. */
  readonly compression?: Compression;
  readonly level?: number;
  /** Where the new layers' blobs are written (memory, an OCI layout…); wins over `blobDirectory`. */
  readonly blobSink?: BlobSink;
  /**
   * A directory for the new layers' blobs (Node). By default (neither this nor
   * `blobSink`) they go to one fresh temporary directory per call in Node, which is left
   * for the OS to clean (the image reads its layer from there), or to memory elsewhere.
   */
  readonly blobDirectory?: string;
}

/**
 * Merges all layers of an image into one that holds its effective filesystem: later
 * layers win, whiteouts (`.wh.<name>`) and opaque directories (`.wh..wh..opq`) remove
 * what is below them, a file replacing a directory removes its contents, and hardlinks
 * whose target was later replaced or deleted keep the content they linked to. Entries
 * keep their metadata (modes, owners, times, xattrs); the runtime config is kept;
 * history becomes one entry. Layers are read twice (a plan, then the copy), streaming.
 *
 * @throws {MutateError} `ERR_UNSAFE_PATH` naming the entry for an absolute or `..` path,
 *   a hardlink to one, or a relative symlink that climbs above the root;
 *   `ERR_LAYER_INVALID` for a hardlink to nothing; archive and digest errors of bad layers.
 * @example
 * ```ts
 * const single = await flatten(image, { compression: 'zstd' });
 * ```
 */
export function flatten(image: Image, options?: FlattenOptions): Promise<Image>;
export function flatten(index: Index, options: FlattenOptions): Promise<Index>;
export async function flatten(node: Image | Index, options: FlattenOptions = {}): Promise<Image | Index> {
  // One sink for the whole call, every platform's layer in the same place; made when the
  // first layer is, so a flatten refused while planning leaves no empty directory.
  let sink: Promise<BlobSink> | undefined;
  const sinkOnce = () =>
    (sink ??=
      options.blobSink === undefined
        ? defaultBlobSink(options.blobDirectory)
        : Promise.resolve(options.blobSink));
  return (await applyPerPlatform(node, options, (image) => flattenImage(image, sinkOnce, options))) as
    | Image
    | Index;
}

/** One entry of the final filesystem, where it was defined, and the content it shares. */
interface Definition {
  readonly id: number;
  readonly layer: number;
  readonly index: number;
  readonly path: string;
  readonly header: TarHeader;
  /** The id of the file definition whose content this entry has (files and hardlinks). */
  readonly inode: number | undefined;
}

/** What to write at one position of one layer, in place of the entry found there. */
interface PlannedEntry {
  readonly path: string;
  readonly header: TarHeader;
  readonly type: 'file' | 'hardlink' | 'other';
  readonly linkname?: string;
}

async function flattenImage(
  image: Image,
  sinkOnce: () => Promise<BlobSink>,
  options: FlattenOptions,
): Promise<Image> {
  const layers = imageLayers(image);
  const plan = await planEntries(layers, options.signal);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const layer = await createLayer(writeTar(emitEntries(layers, plan, options.signal), signal), {
    sink: await sinkOnce(),
    compression: options.compression ?? 'gzip',
    ...(options.level === undefined ? {} : { level: options.level }),
    ...signal,
  });
  const { created } = image.config;
  const history = [
    {
      ...(created === undefined ? {} : { created }),
      created_by: 'stevedore flatten',
      comment: `${layers.length} layers merged`,
    },
  ];
  return reassembleImage(image, { config: { ...image.config, history }, layers: [layer], ...signal });
}

async function* layerEntries(layer: Layer, signal: AbortSignal | undefined) {
  const options = signal === undefined ? {} : { signal };
  yield* readTar(await readLayerTar(layer, options), options);
}

// Pass 1: replay the layers' entries as an extraction would, on metadata only, and decide
// what the single layer holds and where in the input each entry's bytes come from.
async function planEntries(
  layers: readonly Layer[],
  signal: AbortSignal | undefined,
): Promise<Map<string, PlannedEntry>> {
  const view = new Map<string, Definition>();
  const contentOf = new Map<number, Definition>();
  let nextId = 0;
  // Removes what is under `prefix` (and `prefix` itself when `self`) from the layers
  // before `layer`: a whiteout hides only what lower layers hold.
  const removeBelow = (prefix: string, layer: number, self: boolean) => {
    for (const [path, definition] of view) {
      const inside = prefix === '' || path.startsWith(`${prefix}/`) || (self && path === prefix);
      if (inside && definition.layer < layer) view.delete(path);
    }
  };
  for (const [layerIndex, layer] of layers.entries()) {
    let index = -1;
    for await (const entry of layerEntries(layer, signal)) {
      index++;
      const path = safePath(entry.name, layerIndex);
      if (path === '') continue;
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? '' : path.slice(0, slash);
      const base = path.slice(slash + 1);
      if (isOpaqueWhiteout(base)) {
        removeBelow(dir, layerIndex, false);
        continue;
      }
      if (isWhiteout(base)) {
        removeBelow(
          dir === '' ? base.slice(WHITEOUT_PREFIX.length) : `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`,
          layerIndex,
          true,
        );
        continue;
      }
      const { content: _content, ...header } = entry;
      let inode: number | undefined;
      const id = nextId++;
      if (entry.type === 'symlink') checkSymlink(entry.name, path, entry.linkname, layerIndex);
      if (entry.type === 'hardlink') {
        const target = view.get(safePath(entry.linkname, layerIndex, entry.name));
        if (target?.inode === undefined) {
          throw new MutateError(
            'ERR_LAYER_INVALID',
            `layer ${layerIndex}: hardlink ${excerpt(path)} points to ${excerpt(entry.linkname)}, which is not a file at that point`,
            { layer: layerIndex, path },
          );
        }
        inode = target.inode;
      } else if (entry.type === 'file') {
        inode = id;
      }
      const existing = view.get(path);
      // A file replacing a directory removes what it held, this layer's entries too.
      if (existing?.header.type === 'directory' && entry.type !== 'directory') {
        removeBelow(path, layerIndex + 1, false);
      }
      const definition: Definition = { id, layer: layerIndex, index, path, header, inode };
      view.set(path, definition);
      if (entry.type === 'file') contentOf.set(id, definition);
    }
  }

  // Every inode's content is written once: by its own file entry when that survived, or
  // else by the first surviving name, at the position of the content (its hardlinks all
  // come later, so they can point to it).
  const plan = new Map<string, PlannedEntry>();
  const carriers = new Map<number, string>();
  const survivors = [...view.values()].sort((a, b) => a.id - b.id);
  for (const definition of survivors) {
    const position = `${definition.layer}:${definition.index}`;
    if (definition.inode === undefined) {
      plan.set(position, { path: definition.path, header: definition.header, type: 'other' });
      continue;
    }
    const carrier = carriers.get(definition.inode);
    if (carrier === undefined) {
      const content = contentOf.get(definition.inode) as Definition;
      carriers.set(definition.inode, definition.path);
      plan.set(`${content.layer}:${content.index}`, {
        path: definition.path,
        header: content.header,
        type: 'file',
      });
    } else {
      plan.set(position, {
        path: definition.path,
        header: definition.header,
        type: 'hardlink',
        linkname: carrier,
      });
    }
  }
  return plan;
}

// Pass 2: read the layers again and write what the plan says, in input order.
async function* emitEntries(
  layers: readonly Layer[],
  plan: ReadonlyMap<string, PlannedEntry>,
  signal: AbortSignal | undefined,
): AsyncGenerator<TarEntryInput> {
  for (const [layerIndex, layer] of layers.entries()) {
    let index = -1;
    for await (const entry of layerEntries(layer, signal)) {
      index++;
      const planned = plan.get(`${layerIndex}:${index}`);
      if (planned === undefined) continue;
      const { header } = planned;
      const base = {
        name: planned.path,
        mode: header.mode,
        uid: header.uid,
        gid: header.gid,
        uname: header.uname,
        gname: header.gname,
        mtime: header.mtime,
        pax: header.pax,
      };
      if (planned.type === 'file') {
        yield { ...base, type: 'file', size: header.size, content: entry.content };
      } else if (planned.type === 'hardlink') {
        yield { ...base, type: 'hardlink', linkname: planned.linkname ?? '' };
      } else {
        yield {
          ...base,
          type: header.type,
          linkname: header.linkname,
          devmajor: header.devmajor,
          devminor: header.devminor,
        };
      }
    }
  }
}

/**
 * A layer path without `./`, leading or trailing slashes. Absolute paths and `..` are
 * refused: what a layer names is relative to the image's root. For a hardlink's target,
 * `link` is the hardlink's own name, which the error names.
 */
function safePath(name: string, layer: number, link?: string): string {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  const reason = name.startsWith('/')
    ? 'is an absolute path; layer paths are relative to the root'
    : parts.includes('..')
      ? 'climbs out of the root with ..'
      : undefined;
  if (reason !== undefined) {
    const what =
      link === undefined ? excerpt(name) : `hardlink ${excerpt(link)} points to ${excerpt(name)}, which`;
    throw new MutateError('ERR_UNSAFE_PATH', `layer ${layer}: ${what} ${reason}`, {
      layer,
      path: link ?? name,
    });
  }
  return parts.join('/');
}

/**
 * Refuses a relative symlink that climbs above the root from its directory (moby refuses
 * to unpack one). Absolute targets are fine: they resolve inside the container's root.
 */
function checkSymlink(name: string, path: string, target: string, layer: number): void {
  if (target.startsWith('/')) return;
  const resolved = path.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') resolved.push(part);
    else if (resolved.pop() === undefined) {
      throw new MutateError(
        'ERR_UNSAFE_PATH',
        `layer ${layer}: symlink ${excerpt(name)} points to ${excerpt(target)}, outside the root`,
        { layer, path: name },
      );
    }
  }
}
