// The `node` branch of `#filesystem`: directories walked in a fixed order, and tar
// files read as streams.
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TarEntryInput, TarEntryType } from '@stevedore/archive';
import { type ReadFileChunksOptions, readFileChunks } from '@stevedore/image/node';
import { BuildError } from './errors.ts';
import type { Filesystem, PathInputOptions } from './filesystem.ts';

/** @internal */
export const filesystem: Filesystem = {
  async readPathInput(path, options) {
    const info = await stat(path).catch((cause: unknown) => {
      throw readFailed(path, cause);
    });
    if (info.isDirectory()) return { kind: 'entries', entries: walkDirectory(path, options) };
    if (info.isFile()) return { kind: 'tar', bytes: readChecked(path, signalOf(options)) };
    throw new BuildError('ERR_LAYER_INPUT_INVALID', `${path} is neither a directory nor a tar file`, {
      path,
    });
  },
  async directoryEntries(path, options) {
    const info = await stat(path).catch((cause: unknown) => {
      throw readFailed(path, cause);
    });
    if (!info.isDirectory()) {
      throw new BuildError('ERR_LAYER_INPUT_INVALID', `${path} is not a directory`, { path });
    }
    return walkDirectory(path, options);
  },
};

async function* readChecked(path: string, options: ReadFileChunksOptions): AsyncGenerator<Uint8Array> {
  try {
    yield* readFileChunks(path, options);
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw readFailed(path, cause);
  }
}

function signalOf(options: { readonly signal?: AbortSignal | undefined }): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

function readFailed(path: string, cause: unknown): BuildError {
  const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  return new BuildError('ERR_READ_FAILED', `cannot read ${path} (${reason})`, { path, cause });
}

// Sorting names by their UTF-8 bytes gives the same order on every machine and locale.
// Each name is encoded once, not once per comparison.
function sortByBytes(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, bytes: Buffer.from(name) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((entry) => entry.name);
}

/**
 * A directory tree as tar entries: depth first, siblings in byte order, the root itself
 * left out; files with one inode become hardlinks to the first path seen; symlinks are
 * kept as links; modes kept (0o7777), ownership only when asked; sockets are skipped
 * with a warning event. Timestamps are left to the tar writer (zero, or the epoch).
 */
async function* walkDirectory(root: string, options: PathInputOptions): AsyncGenerator<TarEntryInput> {
  const inodes = new Map<string, string>();
  // Large files are read one after another through two buffers shared by all of them,
  // each read into again once the next chunk is asked for. That holds here: the tar
  // writer reads the files one at a time and passes each chunk on at once, and a build
  // copies or hashes it before asking for the next (a blob writer's `write` copies what
  // it keeps). A fresh 1 MiB buffer per chunk would cost a page fault per 4 KiB and a
  // garbage collection every few dozen MiB.
  const ring = [new Uint8Array(READ_CHUNK), new Uint8Array(READ_CHUNK)];
  const readLarge = { ...signalOf(options), transientChunks: true, ring };
  async function* walk(directory: string, prefix: string): AsyncGenerator<TarEntryInput> {
    options.signal?.throwIfAborted();
    const names = await readdir(directory).catch((cause: unknown) => {
      throw readFailed(directory, cause);
    });
    for (const name of sortByBytes(names)) {
      const path = join(directory, name);
      const archiveName = `${prefix}${name}`;
      const info = await lstat(path, { bigint: true }).catch((cause: unknown) => {
        throw readFailed(path, cause);
      });
      const base = {
        name: archiveName,
        mode: Number(info.mode & 0o7777n),
        ...(options.preserveOwnership ? { uid: Number(info.uid), gid: Number(info.gid) } : {}),
      };
      let type: TarEntryType;
      if (info.isDirectory()) {
        yield { ...base, type: 'directory' };
        yield* walk(path, `${archiveName}/`);
        continue;
      } else if (info.isSymbolicLink()) {
        const linkname = await readlink(path).catch((cause: unknown) => {
          throw readFailed(path, cause);
        });
        yield { ...base, type: 'symlink', linkname };
        continue;
      } else if (info.isFile()) {
        const inode = `${info.dev}:${info.ino}`;
        const first = info.nlink > 1n ? inodes.get(inode) : undefined;
        if (first !== undefined) {
          yield { ...base, type: 'hardlink', linkname: first };
          continue;
        }
        if (info.nlink > 1n) inodes.set(inode, archiveName);
        const size = Number(info.size);
        const content = size <= SMALL_FILE ? readSmallFile(path) : readChecked(path, readLarge);
        yield { ...base, type: 'file', size, content };
        continue;
      } else if (info.isCharacterDevice()) type = 'char';
      else if (info.isBlockDevice()) type = 'block';
      else if (info.isFIFO()) type = 'fifo';
      else {
        options.onEvent?.({
          type: 'warning',
          path,
          message: `skipped ${path}: sockets cannot be stored in a layer`,
        });
        continue;
      }
      const { major, minor } = deviceNumbers(info.rdev);
      yield { ...base, type, devmajor: major, devminor: minor };
    }
  }
  // Walking ahead of the tar writer starts the reads of the next small files while it
  // works, so the disk and the compressor are never left waiting for each other.
  yield* readAhead(walk(root, ''), READ_AHEAD);
}

// Bytes per read of a large file.
const READ_CHUNK = 1024 * 1024;
// Files up to this size are read in one call, as soon as the walk reaches them.
const SMALL_FILE = 128 * 1024;
// Entries the walk runs ahead: at most READ_AHEAD × SMALL_FILE bytes (4 MiB) read early.
const READ_AHEAD = 32;

// Starts reading a small file now; its bytes are handed over when the writer gets there.
function readSmallFile(path: string): AsyncIterable<Uint8Array> {
  const bytes = readFile(path).then(
    (buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength),
    (cause: unknown) => {
      throw readFailed(path, cause);
    },
  );
  bytes.catch(() => {}); // handled where the content is read
  return (async function* () {
    yield await bytes;
  })();
}

/** Pulls up to `count` items from `source` ahead of the consumer. */
async function* readAhead<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  try {
    while (true) {
      while (queue.length < count) {
        const next = iterator.next();
        next.catch(() => {}); // handled in order below
        queue.push(next);
      }
      const result = await (queue.shift() as Promise<IteratorResult<T>>);
      if (result.done === true) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

// Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor).
function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor & 0xffffffffn) };
}
