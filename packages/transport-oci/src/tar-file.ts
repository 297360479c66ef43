// A tar file on disk read by name: the archive is read once through (every byte: a tar
// has no table of contents) to record where each file's bytes are, then any file is read
// by byte range. No temporary directory, no copy.
import { ArchiveError, type ArchiveErrorCode, detectCompression, readTar } from '@stevedore/archive';
import { collectBytes } from '@stevedore/digest';
import { readFileChunks } from '@stevedore/image/node';
import { TransportError } from './errors.ts';

/** Options for {@link TarFile.open}. */
export interface TarFileOpenOptions {
  /** Read only the file's first `length` bytes. */
  readonly length?: number;
  readonly signal?: AbortSignal;
  /** The reader is done with each chunk when it asks for the next (`OpenBlobOptions`). */
  readonly transientChunks?: boolean;
}

/** The files of a tar archive, by normalized name (no `./`, no leading or trailing `/`). */
export interface TarFile {
  readonly path: string;
  /** The size of a file in the archive, or undefined when there is none by that name. */
  size(name: string): number | undefined;
  /** A file's bytes (or its first `length` bytes) as a stream, or undefined. */
  open(name: string, options?: TarFileOpenOptions): AsyncIterable<Uint8Array> | undefined;
  /** A small file read whole, or undefined. */
  read(name: string, options?: { readonly signal?: AbortSignal }): Promise<Uint8Array | undefined>;
}

/** A tar path as a plain relative name. */
export function normalizeName(name: string): string {
  return name
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/**
 * Indexes an uncompressed tar file, reading it once through.
 * @throws {TransportError} `ERR_LAYOUT_INVALID` for a missing, unreadable or compressed file; archive errors
 *   (`ERR_TAR_TRUNCATED`, `ERR_TAR_INVALID`) naming the file for a broken one.
 */
export async function indexTarFile(path: string, kind: string, signal?: AbortSignal): Promise<TarFile> {
  const options = signal === undefined ? {} : { signal };
  const head = await collectBytes(readFileChunks(path, { length: 4, ...options })).catch((error: unknown) => {
    signal?.throwIfAborted();
    throw new TransportError(
      'ERR_LAYOUT_INVALID',
      `cannot read the ${kind} ${path}: ${systemReason(error)}`,
      {
        path,
        cause: error,
      },
    );
  });
  if (detectCompression(head) !== 'none') {
    throw new TransportError('ERR_LAYOUT_INVALID', `${path} is compressed; a ${kind} is a plain tar`, {
      path,
    });
  }
  const files = new Map<string, { offset: number; size: number }>();
  try {
    for await (const entry of readTar(readFileChunks(path, options), options)) {
      if (entry.type === 'file')
        files.set(normalizeName(entry.name), { offset: entry.offset, size: entry.size });
    }
  } catch (error) {
    throw inArchive(path, error);
  }
  const open = (name: string, read: TarFileOpenOptions = {}) => {
    const file = files.get(normalizeName(name));
    if (file === undefined) return undefined;
    return readFileChunks(path, {
      start: file.offset,
      length: Math.min(read.length ?? file.size, file.size),
      ...(read.signal === undefined ? {} : { signal: read.signal }),
      ...(read.transientChunks === true && { transientChunks: true }),
    });
  };
  return {
    path,
    size: (name) => files.get(normalizeName(name))?.size,
    open,
    read: async (name, options = {}) => {
      const stream = open(name, options);
      return stream === undefined ? undefined : collectBytes(stream, options.signal);
    },
  };
}

const TAR_ERRORS: readonly ArchiveErrorCode[] = [
  'ERR_TAR_INVALID',
  'ERR_TAR_TRUNCATED',
  'ERR_TAR_UNSUPPORTED_ENTRY',
];

// The tar reader knows byte offsets and entry names, not which file it reads: say it.
function inArchive(path: string, error: unknown): unknown {
  if (!(error instanceof ArchiveError) || !TAR_ERRORS.includes(error.code)) return error;
  const { value, expected, actual, path: entry } = error;
  return new ArchiveError(error.code, `${path}: ${error.message}`, {
    value,
    ...(expected === undefined ? {} : { expected }),
    ...(actual === undefined ? {} : { actual }),
    ...(entry === undefined ? {} : { path: entry }),
    cause: error,
  });
}

/** What a failed file operation says, without Node's syscall prefix ("no such file or directory"). */
function systemReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
