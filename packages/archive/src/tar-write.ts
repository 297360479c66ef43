import { type ByteSource, iterateBytes } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { ArchiveError } from './archive-errors.ts';
import type { TarEntryInput, TarEntryType } from './tar-entry.ts';
import {
  BLOCK_SIZE,
  encodeHeader,
  encodePaxRecords,
  encodePaxValue,
  encodeUtf8,
  type HeaderFields,
  isAscii,
  isBinaryPaxKey,
  MAX_OCTAL_7,
  MAX_OCTAL_11,
  paddingSize,
  paxHeaderName,
  TypeFlag,
} from './tar-header.ts';

/** Options for {@link writeTar}. */
export interface WriteTarOptions {
  /**
   * The build's `SOURCE_DATE_EPOCH` in seconds: the mtime of entries that give none, and
   * the latest mtime written (later ones are clamped to it). Without it, missing mtimes are 0.
   */
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

const TYPE_FLAGS: Readonly<Record<TarEntryType, number>> = {
  file: TypeFlag.file,
  directory: TypeFlag.directory,
  symlink: TypeFlag.symlink,
  hardlink: TypeFlag.hardlink,
  char: TypeFlag.char,
  block: TypeFlag.block,
  fifo: TypeFlag.fifo,
};

const DEFAULT_MODES: Readonly<Record<TarEntryType, number>> = {
  file: 0o644,
  directory: 0o755,
  symlink: 0o777,
  hardlink: 0o644,
  char: 0o644,
  block: 0o644,
  fifo: 0o644,
};

// Records that header fields own: an entry sets them through its fields, never through `pax`.
const FIELD_PAX_KEYS: ReadonlySet<string> = new Set([
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'uname',
  'gname',
  'mtime',
]);
// Access and change times vary from run to run; a reproducible archive never has them.
const DROPPED_PAX_KEYS: ReadonlySet<string> = new Set(['atime', 'ctime']);

const MAX_NAME = 100;
const MAX_OWNER_NAME = 31; // the 32-byte field ends with a NUL
const BATCH_SIZE = 64 * 1024;
const DIRECT_SIZE = 16 * 1024;
const END_OF_ARCHIVE_SIZE = 2 * BLOCK_SIZE;
const NO_BYTES = new Uint8Array(0);
// UTF-8 cannot encode a lone surrogate: TextEncoder would write U+FFFD instead.
const LONE_SURROGATE = /\p{Surrogate}/u;

interface PreparedEntry {
  readonly name: string;
  readonly type: TarEntryType;
  /** The header block's fields. */
  readonly fields: HeaderFields;
  /** The extended header's fields and records, if the entry needs one. */
  readonly pax: { readonly fields: HeaderFields; readonly data: Uint8Array } | undefined;
  readonly size: number;
  readonly content: ByteSource | undefined;
}

/**
 * Writes a tar archive, deterministically: the same entries give the same bytes. Names
 * longer than 100 bytes, non-ASCII names, big sizes and ids, and the entries' own `pax`
 * records go to a PAX extended header; `atime` and `ctime` records are never written.
 * Entries are written in the order given (a reproducible build sorts them first).
 * Content streams through: small pieces are gathered into 64 KiB chunks, and content
 * chunks of 16 KiB or more are passed on as they are, not copied.
 *
 * @example
 * ```ts
 * const layer = writeTar([
 *   { name: 'etc', type: 'directory' },
 *   { name: 'etc/motd', type: 'file', content: new TextEncoder().encode('hello\n') },
 * ], { sourceDateEpoch: 1_700_000_000 });
 * for await (const chunk of layer) sink.write(chunk);
 * ```
 * @throws {ArchiveError} `ERR_TAR_INVALID_ENTRY` for an entry that cannot be archived
 *   (empty name, NUL bytes, a link without a target, content on a non-file, a `pax` key
 *   that belongs to a header field); `ERR_TAR_SIZE_MISMATCH` when a file's content is
 *   longer (as soon as it overruns) or shorter than its `size`.
 * @throws {TypeError} for arguments of the wrong type; {RangeError} for negative,
 *   fractional or too large numbers.
 */
export async function* writeTar(
  entries: Iterable<TarEntryInput> | AsyncIterable<TarEntryInput>,
  options: WriteTarOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  const epoch = checkNumber(options.sourceDateEpoch, 'sourceDateEpoch', Number.MAX_SAFE_INTEGER);
  if (
    entries === null ||
    typeof entries !== 'object' ||
    !(Symbol.asyncIterator in entries || Symbol.iterator in entries)
  ) {
    throw new TypeError('expected an Iterable or AsyncIterable of tar entries');
  }
  signal?.throwIfAborted();
  const output = new OutputBuffer();
  for await (const input of entries) {
    signal?.throwIfAborted();
    const entry = prepareEntry(input, epoch);
    for (const ready of writeHeaders(entry, output)) yield ready;
    if (entry.content !== undefined) {
      let written = 0;
      for await (const chunk of iterateBytes(entry.content, signal)) {
        written += chunk.length;
        if (written > entry.size) {
          if (entry.type !== 'file') throw invalidEntry(entry.name, `a ${entry.type} has no content`);
          throw sizeMismatch(entry.name, entry.size, written);
        }
        for (const ready of output.add(chunk)) yield ready;
      }
      if (written !== entry.size) throw sizeMismatch(entry.name, entry.size, written);
    }
    const ready: Uint8Array[] = [];
    output.reserve(paddingSize(entry.size), ready); // zeros
    for (const chunk of ready) yield chunk;
  }
  const ready: Uint8Array[] = [];
  output.reserve(END_OF_ARCHIVE_SIZE, ready);
  ready.push(...output.flush());
  for (const chunk of ready) yield chunk;
}

/**
 * The header of a regular file whose size is learned only after its content was written:
 * always one 512-byte block, so a writer with a seekable output writes a placeholder
 * (`size` 0), streams the content, then writes the block again over it with the real size.
 * Otherwise the block {@link writeTar} writes, except that a size of 8 GiB or more is in
 * GNU base-256 form (which Go's archive/tar, GNU tar and {@link readTar} read) rather
 * than a PAX record.
 *
 * @throws {ArchiveError} `ERR_TAR_INVALID_ENTRY` for an entry that needs an extended
 *   header (a name over 100 bytes or not ASCII, `pax` records, big ids) or is not a file.
 */
export function encodeFileHeaderBlock(entry: Omit<TarEntryInput, 'content'> & { size: number }): Uint8Array {
  const prepared = prepareEntry({ ...entry, size: 0 }, undefined);
  if (prepared.type !== 'file' || prepared.pax !== undefined) {
    throw invalidEntry(
      entry.name,
      'a header block of its own needs a file with a short ASCII name and no pax records',
    );
  }
  const size = checkNumber(entry.size, 'size', Number.MAX_SAFE_INTEGER, 0);
  return encodeHeader({ ...prepared.fields, size });
}

/** The zero bytes that follow a file's content of `size` bytes, up to the next 512-byte block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array(paddingSize(size));
}

/** The two zero blocks that end a tar archive. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(END_OF_ARCHIVE_SIZE);
}

// Encodes the extended header (if any) and the header block, into the output buffer
// when they fit; returns the chunks ready to go out.
function writeHeaders(entry: PreparedEntry, output: OutputBuffer): Uint8Array[] {
  const ready: Uint8Array[] = [];
  let length = BLOCK_SIZE;
  if (entry.pax !== undefined) {
    length += BLOCK_SIZE + entry.pax.data.length + paddingSize(entry.pax.data.length);
  }
  const target = length <= BATCH_SIZE ? output.reserve(length, ready) : new Uint8Array(length);
  if (entry.pax !== undefined) {
    encodeHeader(entry.pax.fields, target.subarray(0, BLOCK_SIZE));
    target.set(entry.pax.data, BLOCK_SIZE);
  }
  encodeHeader(entry.fields, target.subarray(length - BLOCK_SIZE));
  if (length > BATCH_SIZE) ready.push(...output.add(target));
  return ready;
}

function sizeMismatch(name: string, size: number, written: number): ArchiveError {
  const relation = written > size ? 'longer than' : 'shorter than';
  return new ArchiveError(
    'ERR_TAR_SIZE_MISMATCH',
    `content of ${excerpt(name)} is ${relation} its size: ${written > size ? 'at least ' : ''}${written} bytes, expected ${size}`,
    { path: name, expected: size, actual: written },
  );
}

function invalidEntry(name: unknown, reason: string, value?: unknown): ArchiveError {
  return new ArchiveError('ERR_TAR_INVALID_ENTRY', `invalid tar entry ${excerpt(name)}: ${reason}`, {
    ...(typeof name === 'string' ? { path: name } : {}),
    ...(value === undefined ? {} : { value }),
  });
}

function checkNumber(value: unknown, field: string, max: number): number | undefined;
function checkNumber(value: unknown, field: string, max: number, fallback: number): number;
function checkNumber(value: unknown, field: string, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field} must be an integer from 0 to ${max}, got ${value}`);
  }
  return value;
}

function checkString(value: unknown, field: string, name: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw invalidEntry(name, `${field} contains a NUL byte`, value);
  if (LONE_SURROGATE.test(value)) throw invalidEntry(name, `${field} is not well-formed Unicode`, value);
  return value;
}

function prepareEntry(input: TarEntryInput, epoch: number | undefined): PreparedEntry {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`expected a tar entry object, got ${input === null ? 'null' : typeof input}`);
  }
  const { name, type, content } = input;
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`);
  if (typeof type !== 'string' || !Object.hasOwn(TYPE_FLAGS, type)) {
    throw invalidEntry(
      name,
      `unknown type ${excerpt(type)}; expected one of ${Object.keys(TYPE_FLAGS).join(', ')}`,
    );
  }
  if (name === '') throw invalidEntry(name, 'the name is empty');
  if (name.includes('\0')) throw invalidEntry(name, 'the name contains a NUL byte');
  if (LONE_SURROGATE.test(name)) throw invalidEntry(name, 'the name is not well-formed Unicode');
  let path = name;
  if (type === 'directory') {
    if (!path.endsWith('/')) path += '/';
  } else if (path.endsWith('/')) {
    throw invalidEntry(name, `only a directory name may end with "/", this is a ${type}`);
  }

  const mode = checkNumber(input.mode, 'mode', 0o7777, DEFAULT_MODES[type]);
  const uid = checkNumber(input.uid, 'uid', Number.MAX_SAFE_INTEGER, 0);
  const gid = checkNumber(input.gid, 'gid', Number.MAX_SAFE_INTEGER, 0);
  const devmajor = checkNumber(input.devmajor, 'devmajor', MAX_OCTAL_7, 0);
  const devminor = checkNumber(input.devminor, 'devminor', MAX_OCTAL_7, 0);
  let mtime = checkNumber(input.mtime, 'mtime', Number.MAX_SAFE_INTEGER, epoch ?? 0);
  if (epoch !== undefined && mtime > epoch) mtime = epoch;
  const uname = checkString(input.uname, 'uname', name);
  const gname = checkString(input.gname, 'gname', name);
  const linkname = checkString(input.linkname, 'linkname', name);
  const isLink = type === 'symlink' || type === 'hardlink';
  if (isLink && linkname === '') throw invalidEntry(name, `a ${type} needs a linkname`);
  if (!isLink && linkname !== '') throw invalidEntry(name, `a ${type} has no linkname`, linkname);

  let size = checkNumber(input.size, 'size', Number.MAX_SAFE_INTEGER);
  if (type !== 'file') {
    // An empty content is fine (a TarEntry from readTar has one); it is checked as it streams.
    const empty = content === undefined || !(content instanceof Uint8Array) || content.length === 0;
    if (!empty || (size !== undefined && size !== 0)) throw invalidEntry(name, `a ${type} has no content`);
    size = 0;
  } else if (size === undefined) {
    if (content !== undefined && !(content instanceof Uint8Array)) {
      throw new TypeError(`size is required for ${excerpt(name)}: its content is a stream`);
    }
    size = content?.length ?? 0;
  }
  if (content instanceof Uint8Array && content.length !== size) {
    throw sizeMismatch(name, size, content.length);
  }
  if (content === undefined && size !== 0) throw sizeMismatch(name, size, 0);

  // PAX records in a fixed order (GNU tar's), then the entry's own, sorted by key.
  const records: Array<[string, Uint8Array]> = [];
  const nameBytes = encodeUtf8(path);
  const linkBytes = encodeUtf8(linkname);
  const unameBytes = encodeUtf8(uname);
  const gnameBytes = encodeUtf8(gname);
  if (linkBytes.length > MAX_NAME || !isAscii(linkname)) records.push(['linkpath', linkBytes]);
  if (nameBytes.length > MAX_NAME || !isAscii(path)) records.push(['path', nameBytes]);
  if (uid > MAX_OCTAL_7) records.push(['uid', encodeUtf8(String(uid))]);
  if (gid > MAX_OCTAL_7) records.push(['gid', encodeUtf8(String(gid))]);
  if (unameBytes.length > MAX_OWNER_NAME || !isAscii(uname)) records.push(['uname', unameBytes]);
  if (gnameBytes.length > MAX_OWNER_NAME || !isAscii(gname)) records.push(['gname', gnameBytes]);
  if (size > MAX_OCTAL_11) records.push(['size', encodeUtf8(String(size))]);
  if (mtime > MAX_OCTAL_11) records.push(['mtime', encodeUtf8(String(mtime))]);
  records.push(...entryPaxRecords(input.pax, name));

  // A value too big for its field is 0 there: the PAX record carries it (as GNU tar does).
  const inField = (value: number, max: number): number => (value > max ? 0 : value);
  const fields: HeaderFields = {
    name: nameBytes,
    mode,
    uid: inField(uid, MAX_OCTAL_7),
    gid: inField(gid, MAX_OCTAL_7),
    size: inField(size, MAX_OCTAL_11),
    mtime: inField(mtime, MAX_OCTAL_11),
    typeflag: TYPE_FLAGS[type],
    linkname: linkBytes,
    uname: unameBytes,
    gname: gnameBytes,
    devmajor,
    devminor,
  };
  if (records.length === 0) return { name, type, fields, pax: undefined, size, content };

  const data = encodePaxRecords(records);
  const paxFields: HeaderFields = {
    name: paxHeaderName(path),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: inField(mtime, MAX_OCTAL_11),
    typeflag: TypeFlag.paxHeader,
    linkname: NO_BYTES,
    uname: NO_BYTES,
    gname: NO_BYTES,
    devmajor: undefined,
    devminor: undefined,
  };
  return { name, type, fields, pax: { fields: paxFields, data }, size, content };
}

function entryPaxRecords(pax: unknown, name: string): Array<[string, Uint8Array]> {
  if (pax === undefined) return [];
  if (pax === null || typeof pax !== 'object') {
    throw new TypeError(`pax must be an object of strings, got ${pax === null ? 'null' : typeof pax}`);
  }
  const records: Array<[string, Uint8Array]> = [];
  const values = pax as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(values).sort()) {
    const value = values[key];
    if (typeof value !== 'string') throw new TypeError(`pax record ${excerpt(key)} must be a string`);
    if (key === '' || /[=\0\n]/.test(key) || LONE_SURROGATE.test(key)) {
      throw invalidEntry(
        name,
        `PAX key ${excerpt(key)} is empty, or has "=", NUL, newline or a lone surrogate`,
        key,
      );
    }
    if (!isBinaryPaxKey(key) && LONE_SURROGATE.test(value)) {
      throw invalidEntry(name, `PAX record ${excerpt(key)} is not well-formed Unicode`, value);
    }
    if (FIELD_PAX_KEYS.has(key)) {
      throw invalidEntry(name, `PAX record ${excerpt(key)} belongs to a header field; set the field`, key);
    }
    if (DROPPED_PAX_KEYS.has(key)) continue;
    const bytes = encodePaxValue(key, value);
    if (bytes === undefined) {
      throw invalidEntry(
        name,
        `PAX record ${excerpt(key)} holds bytes: every character must be 0-255`,
        value,
      );
    }
    records.push([key, bytes]);
  }
  return records;
}

// Gathers small pieces (headers, padding, small files) into 64 KiB chunks, so a layer of
// many small files is not a stream of tiny chunks; large pieces pass through uncopied.
class OutputBuffer {
  #buffer: Uint8Array | undefined;
  #used = 0;

  /** Adds bytes; returns the chunks now ready to go out (none, one or two). */
  add(bytes: Uint8Array): Uint8Array[] {
    const ready: Uint8Array[] = [];
    if (bytes.length >= DIRECT_SIZE) {
      ready.push(...this.flush(), bytes);
    } else {
      this.reserve(bytes.length, ready).set(bytes);
    }
    return ready;
  }

  /**
   * Appends `length` zero bytes (at most 64 KiB) and returns them to be written into;
   * pushes to `ready` what had to go out first to make room.
   */
  reserve(length: number, ready: Uint8Array[]): Uint8Array {
    if (this.#used + length > BATCH_SIZE) ready.push(...this.flush());
    this.#buffer ??= new Uint8Array(BATCH_SIZE);
    const view = this.#buffer.subarray(this.#used, this.#used + length);
    this.#used += length;
    return view;
  }

  /** Returns what is buffered, as a chunk the buffer never touches again. */
  flush(): Uint8Array[] {
    if (this.#buffer === undefined || this.#used === 0) return [];
    const chunk = this.#buffer.subarray(0, this.#used);
    this.#buffer = undefined;
    this.#used = 0;
    return [chunk];
  }
}
