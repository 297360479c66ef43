// A tar file on disk read by name: one pass over its headers records where each file's
// bytes are, then any file is read by byte range. No temporary directory, no copy.
import { detectCompression, readTar } from '@stevedore/archive';
import { collectBytes } from '@stevedore/digest';
import { readFileChunks } from '@stevedore/image/node';
import { TransportError } from './errors.ts';

/** The files of a tar archive, by normalized name (no `./`, no leading or trailing `/`). */
export interface TarFile {
  readonly path: string;
  /** The size of a file in the archive, or undefined when there is none by that name. */
  size(name: string): number | undefined;
  /** A file's bytes (or its first `length` bytes) as a stream, or undefined. */
  open(name: string, length?: number): AsyncIterable<Uint8Array> | undefined;
  /** A small file read whole, or undefined. */
  read(name: string): Promise<Uint8Array | undefined>;
}

/** A tar path as a plain relative name. */
export function normalizeName(name: string): string {
  return name
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/**
 * Indexes an uncompressed tar file.
 * @throws {TransportError} `ERR_LAYOUT_INVALID` for a compressed file; archive errors
 *   (`ERR_TAR_TRUNCATED`, `ERR_TAR_INVALID`) for a broken one.
 */
export async function indexTarFile(path: string, kind: string, signal?: AbortSignal): Promise<TarFile> {
  const options = signal === undefined ? {} : { signal };
  const head = await collectBytes(readFileChunks(path, { length: 4, ...options }));
  if (detectCompression(head) !== 'none') {
    throw new TransportError('ERR_LAYOUT_INVALID', `${path} is compressed; a ${kind} is a plain tar`, {
      path,
    });
  }
  const files = new Map<string, { offset: number; size: number }>();
  for await (const entry of readTar(readFileChunks(path, options), options)) {
    if (entry.type === 'file')
      files.set(normalizeName(entry.name), { offset: entry.offset, size: entry.size });
  }
  const open = (name: string, length?: number) => {
    const file = files.get(normalizeName(name));
    if (file === undefined) return undefined;
    return readFileChunks(path, { start: file.offset, length: Math.min(length ?? file.size, file.size) });
  };
  return {
    path,
    size: (name) => files.get(normalizeName(name))?.size,
    open,
    read: async (name) => {
      const stream = open(name);
      return stream === undefined ? undefined : collectBytes(stream);
    },
  };
}
