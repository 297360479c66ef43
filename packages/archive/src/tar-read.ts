// Why not tar-stream's extract: checked against tar-stream 3.2.2, it (1) ends cleanly when
// the input stops right after a PAX or GNU long-name header, silently dropping the entry
// it announced; (2) merges global PAX headers into the next local one (a `git archive`
// comment, or even a global `path`, lands on entries that happen to have a local header);
// (3) keeps reading past the end-of-archive marker, so two concatenated archives read as
// one and bytes after the end fail; GNU tar, Go's archive/tar and so containerd stop there,
// and a layer must not read differently here than where it is run; (4) accepts malformed
// octal fields and PAX records without a word; and (5) reports every failure as a plain
// Error, where callers need ERR_TAR_TRUNCATED and ERR_TAR_INVALID. This reader is pull-based
// and hands content out as views of the input chunks, without copying.
import { type ByteSource, iterateBytes } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { ArchiveError } from './archive-errors.ts';
import type { TarEntry, TarEntryType, TarHeader } from './tar-entry.ts';
import {
  BLOCK_SIZE,
  cString,
  type DecodedHeader,
  decodeHeader,
  decodePaxRecords,
  decodePaxValue,
  isZeroBlock,
  paddingSize,
  TypeFlag,
} from './tar-header.ts';

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  readonly signal?: AbortSignal;
}

// Go's archive/tar (and so containerd) refuses longer PAX and GNU long-name headers.
const MAX_META_SIZE = 1024 * 1024;

const ENTRY_TYPES: ReadonlyMap<number, TarEntryType> = new Map([
  [TypeFlag.file, 'file'],
  [TypeFlag.oldFile, 'file'],
  [TypeFlag.contiguous, 'file'],
  [TypeFlag.hardlink, 'hardlink'],
  [TypeFlag.symlink, 'symlink'],
  [TypeFlag.char, 'char'],
  [TypeFlag.block, 'block'],
  [TypeFlag.directory, 'directory'],
  [TypeFlag.fifo, 'fifo'],
]);

const EMPTY = new Uint8Array(0);

/**
 * Reads a tar archive entry by entry. Accepts what real tools write: POSIX ustar and PAX
 * (local headers applied; global `g` headers skipped), GNU (long names and links,
 * base-256 numbers), v7, and archives that end without the two zero blocks. Names are
 * returned as stored. Reading stops at the first zero block; the rest of the input is
 * read and ignored, so a verifying source still sees every byte.
 *
 * Each entry's content must be read before the loop moves on; unread content is
 * skipped. Content chunks are views of the input chunks, not copies.
 *
 * GNU volume labels (`V`) are skipped. Other entry types (GNU sparse files, old or in
 * PAX form, dump directories, multi-volume continuations, vendor extensions) fail with
 * `ERR_TAR_UNSUPPORTED_ENTRY` rather than being misread or silently dropped.
 *
 * @example
 * ```ts
 * for await (const entry of readTar(layerBytes)) {
 *   if (entry.type === 'file') for await (const chunk of entry.content) hash.update(chunk);
 * }
 * ```
 * @throws {ArchiveError} `ERR_TAR_INVALID` for a corrupt header (bad checksum, malformed
 *   number or PAX record); `ERR_TAR_TRUNCATED` when the input stops inside a header or
 *   content; `ERR_TAR_UNSUPPORTED_ENTRY` for an entry type Stevedore does not handle;
 *   `ERR_TAR_CONTENT_CONSUMED` when content is read after the loop moved on, or twice.
 */
export async function* readTar(
  source: ByteSource,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  const { signal } = options;
  signal?.throwIfAborted();
  const reader = new ChunkReader(iterateBytes(source, signal));
  let content: EntryContent | undefined;
  try {
    while (true) {
      const next = await readHeaders(reader);
      if (next === undefined) break;
      content = new EntryContent(reader, next.header.name, next.dataSize);
      yield Object.freeze({ ...next.header, offset: reader.position, content });
      await content.finish();
      signal?.throwIfAborted();
    }
    await reader.drain();
  } finally {
    content?.expire(); // the loop ended: its last entry's content is gone with the input
    await reader.close();
  }
}

interface NextEntry {
  readonly header: TarHeader;
  /** The bytes of data that follow the header (0 for header-only types). */
  readonly dataSize: number;
}

// Reads the header blocks of the next entry, applying PAX and GNU long-name headers.
// Undefined at the end of the archive.
async function readHeaders(reader: ChunkReader): Promise<NextEntry | undefined> {
  let pax: Array<[string, Uint8Array]> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pending: string | undefined; // the extended header awaiting its entry, and where
  while (true) {
    const offset = reader.position;
    const block = await reader.read(BLOCK_SIZE);
    if (block.length === 0) {
      // umoci and others end layers without the zero blocks: an end here is clean,
      // unless an extended header was waiting for its entry.
      if (pending !== undefined) throw truncated(`after the ${pending}`, offset);
      return undefined;
    }
    if (block.length < BLOCK_SIZE) throw truncated('inside a header block', offset + block.length);
    if (isZeroBlock(block)) {
      if (pending !== undefined) {
        throw new ArchiveError(
          'ERR_TAR_INVALID',
          `invalid tar archive: the ${pending} is followed by the end of the archive at byte ${offset}`,
        );
      }
      return undefined;
    }
    const raw = decodeHeader(block, offset);
    switch (raw.typeflag) {
      case TypeFlag.paxHeader:
        // A later local header replaces an earlier one, as in Go's archive/tar.
        pax = decodePaxRecords(await readMeta(reader, raw, 'PAX'), offset);
        pending = `PAX header at byte ${offset}`;
        continue;
      case TypeFlag.paxGlobalHeader:
        await readMeta(reader, raw, 'global PAX');
        continue;
      case TypeFlag.gnuLongName:
        longName = cString(await readMeta(reader, raw, 'GNU long name'), [0, raw.size]);
        pending = `GNU long name header at byte ${offset}`;
        continue;
      case TypeFlag.gnuLongLink:
        longLink = cString(await readMeta(reader, raw, 'GNU long link'), [0, raw.size]);
        pending = `GNU long link header at byte ${offset}`;
        continue;
      case TypeFlag.gnuVolumeLabel:
        await skipData(reader, raw.size, raw.name);
        await skipPadding(reader, raw.size);
        continue;
    }
    return buildHeader(raw, pax ?? [], longName, longLink, offset);
  }
}

function buildHeader(
  raw: DecodedHeader,
  pax: ReadonlyArray<readonly [string, Uint8Array]>,
  longName: string | undefined,
  longLink: string | undefined,
  offset: number,
): NextEntry {
  let { name, linkname, uid, gid, uname, gname, size, mtime } = raw;
  const extra: Record<string, string> = Object.create(null);
  for (const [key, bytes] of pax) {
    const value = decodePaxValue(key, bytes);
    // An empty value keeps the header field (POSIX pax, "pax Extended Header").
    switch (key) {
      case 'path':
        if (value !== '') name = value;
        break;
      case 'linkpath':
        if (value !== '') linkname = value;
        break;
      case 'uname':
        if (value !== '') uname = value;
        break;
      case 'gname':
        if (value !== '') gname = value;
        break;
      case 'size':
        if (value !== '') size = paxInteger(key, value, offset);
        break;
      case 'uid':
        if (value !== '') uid = paxInteger(key, value, offset);
        break;
      case 'gid':
        if (value !== '') gid = paxInteger(key, value, offset);
        break;
      case 'mtime':
        if (value !== '') mtime = paxTime(key, value, offset);
        break;
      default:
        extra[key] = value;
    }
  }
  // GNU long names win over PAX, as in Go's archive/tar.
  if (longName !== undefined) name = longName;
  if (longLink !== undefined) linkname = longLink;

  let type = ENTRY_TYPES.get(raw.typeflag);
  // A GNU sparse file in PAX form is a '0' entry whose data is a map and fragments:
  // read as a file, its content would be wrong.
  const sparse = Object.keys(extra).some((key) => key.startsWith('GNU.sparse.'));
  if (type === undefined || sparse) {
    const flag = sparse ? 'GNU sparse' : String.fromCharCode(raw.typeflag);
    throw new ArchiveError(
      'ERR_TAR_UNSUPPORTED_ENTRY',
      `unsupported tar entry type ${excerpt(flag)} for ${excerpt(name)} at byte ${offset}; expected a file, directory, link or device`,
      { path: name, value: flag },
    );
  }
  // Pre-POSIX archives mark directories with a trailing slash on an old-style file entry.
  if (raw.typeflag === TypeFlag.oldFile && name.endsWith('/')) type = 'directory';
  // Links, devices, directories and fifos carry no data whatever their size field says
  // (Go's archive/tar reads them the same way).
  const dataSize = type === 'file' ? size : 0;
  const isLink = type === 'symlink' || type === 'hardlink';
  return {
    header: {
      name,
      type,
      mode: raw.mode,
      uid,
      gid,
      uname,
      gname,
      size: dataSize,
      mtime,
      linkname: isLink ? linkname : '',
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      pax: Object.freeze(extra),
    },
    dataSize,
  };
}

function paxInteger(key: string, value: string, offset: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw invalidPaxValue(key, value, offset);
  return number;
}

function paxTime(key: string, value: string, offset: number): number {
  const match = /^(-?\d+)(\.\d*)?$/.exec(value);
  const seconds = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(seconds)) throw invalidPaxValue(key, value, offset);
  // Whole seconds, rounded down: -1.5 is 2 seconds before the epoch, not 1.
  const fraction = match?.[2] ?? '';
  return seconds < 0 && /[1-9]/.test(fraction) ? seconds - 1 : seconds;
}

function invalidPaxValue(key: string, value: string, offset: number): ArchiveError {
  return new ArchiveError(
    'ERR_TAR_INVALID',
    `invalid PAX record ${key}=${excerpt(value)} in the extended header at byte ${offset}`,
    { value },
  );
}

async function readMeta(reader: ChunkReader, raw: DecodedHeader, kind: string): Promise<Uint8Array> {
  if (raw.size > MAX_META_SIZE) {
    throw new ArchiveError(
      'ERR_TAR_INVALID',
      `invalid tar archive: a ${kind} header of ${raw.size} bytes exceeds the limit of ${MAX_META_SIZE}`,
      { value: raw.size, expected: MAX_META_SIZE, actual: raw.size },
    );
  }
  const start = reader.position;
  const data = await reader.read(raw.size);
  if (data.length < raw.size) throw truncated(`inside a ${kind} header`, start + data.length);
  const paddingStart = reader.position;
  const padding = paddingSize(raw.size);
  const skipped = await reader.skip(padding);
  if (skipped < padding) throw truncated(`inside a ${kind} header`, paddingStart + skipped);
  return data;
}

async function skipData(reader: ChunkReader, size: number, name: string): Promise<void> {
  const start = reader.position;
  const skipped = await reader.skip(size);
  if (skipped < size) throw truncated(`inside ${excerpt(name)}`, start + skipped, name);
}

// The padding after an entry's content may be cut short only where the input ends:
// umoci 0.4.7 ends its layers right after the last file's bytes (Go's tar writer pads
// an entry only when another follows or on Close), and Go's reader accepts that.
async function skipPadding(reader: ChunkReader, size: number): Promise<void> {
  await reader.skip(paddingSize(size));
}

function truncated(where: string, offset: number, path?: string): ArchiveError {
  return new ArchiveError(
    'ERR_TAR_TRUNCATED',
    `truncated tar archive at byte ${offset}: the input ends ${where}`,
    {
      actual: offset,
      ...(path === undefined ? {} : { path }),
    },
  );
}

// The content of one entry: read at most once, and only while it is the current entry.
class EntryContent implements AsyncIterable<Uint8Array> {
  readonly #reader: ChunkReader;
  readonly #name: string;
  readonly #size: number;
  #remaining: number;
  #started = false;
  #expired = false;
  #pending: Promise<unknown> | undefined;

  constructor(reader: ChunkReader, name: string, size: number) {
    this.#reader = reader;
    this.#name = name;
    this.#size = size;
    this.#remaining = size;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, void, undefined> {
    const unavailable = this.#size > 0 && (this.#started || this.#expired);
    this.#started = true;
    return this.#chunks(unavailable);
  }

  async *#chunks(unavailable: boolean): AsyncGenerator<Uint8Array, void, undefined> {
    if (unavailable) throw this.#consumed();
    while (this.#remaining > 0) {
      if (this.#expired) throw this.#consumed();
      const start = this.#reader.position;
      const read = this.#reader.next(this.#remaining);
      this.#pending = read;
      const chunk = await read;
      if (chunk === undefined) throw truncated(`inside ${excerpt(this.#name)}`, start, this.#name);
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  #consumed(): ArchiveError {
    return new ArchiveError(
      'ERR_TAR_CONTENT_CONSUMED',
      `the content of ${excerpt(this.#name)} is no longer available: read an entry's content once, before moving to the next entry`,
      { path: this.#name },
    );
  }

  expire(): void {
    this.#expired = true;
  }

  // Moves past the content (whatever was not read) and its padding.
  async finish(): Promise<void> {
    this.expire();
    await this.#pending?.catch(() => {});
    const rest = this.#remaining;
    this.#remaining = 0;
    await skipData(this.#reader, rest, this.#name);
    await skipPadding(this.#reader, this.#size);
  }
}

// Pulls chunks from the input and hands out exact byte counts, copying only when a
// header straddles two chunks.
class ChunkReader {
  readonly #chunks: AsyncIterator<Uint8Array, void, undefined>;
  #chunk: Uint8Array = EMPTY;
  #offset = 0;
  #done = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(chunks: AsyncIterator<Uint8Array, void, undefined>) {
    this.#chunks = chunks;
  }

  // Whether a chunk with unread bytes is at hand; false at the end of the input.
  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      if (this.#done) return false;
      const result = await this.#chunks.next();
      if (result.done === true) {
        this.#done = true;
        this.#chunk = EMPTY;
        this.#offset = 0;
        return false;
      }
      this.#chunk = result.value;
      this.#offset = 0;
    }
    return true;
  }

  #take(length: number): Uint8Array {
    const view = new Uint8Array(this.#chunk.buffer, this.#chunk.byteOffset + this.#offset, length);
    this.#offset += length;
    this.position += length;
    return view;
  }

  /** Exactly `length` bytes, or fewer when the input ends first. */
  async read(length: number): Promise<Uint8Array> {
    if (this.#chunk.length - this.#offset >= length) return this.#take(length);
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.#fill())) return out.subarray(0, filled);
      const piece = this.#take(Math.min(length - filled, this.#chunk.length - this.#offset));
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** The next piece of at most `max` bytes, as a view of the input; undefined at the end. */
  async next(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.#fill())) return undefined;
    return this.#take(Math.min(max, this.#chunk.length - this.#offset));
  }

  /** Skips `length` bytes; returns how many there were. */
  async skip(length: number): Promise<number> {
    let skipped = 0;
    while (skipped < length) {
      if (!(await this.#fill())) break;
      const step = Math.min(length - skipped, this.#chunk.length - this.#offset);
      this.#offset += step;
      this.position += step;
      skipped += step;
    }
    return skipped;
  }

  /** Reads the rest of the input and ignores it. */
  async drain(): Promise<void> {
    while (await this.#fill()) {
      this.position += this.#chunk.length - this.#offset;
      this.#offset = this.#chunk.length;
    }
  }

  async close(): Promise<void> {
    if (!this.#done) {
      this.#done = true;
      await this.#chunks.return?.();
    }
  }
}
