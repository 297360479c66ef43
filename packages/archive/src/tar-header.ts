// The 512-byte tar header block and PAX extended-header records, byte by byte.
// Layout: POSIX.1-2017 pax, "ustar Interchange Format"; GNU tar manual, "Basic Tar Format".
// Stevedore writes ustar blocks exactly as GNU tar 1.34 does in --format=posix: numeric
// fields are zero-padded octal followed by a NUL, the checksum is six digits, a NUL and a
// space, and an extended header's own block leaves devmajor/devminor empty.
import { concatBytes } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { ArchiveError } from './archive-errors.ts';

/** @internal The tar block size. */
export const BLOCK_SIZE = 512;

/** @internal The zero bytes that follow `size` bytes of content, up to the next block. */
export function paddingSize(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/** @internal The largest value of an 8-byte octal field (7 digits and a NUL). */
export const MAX_OCTAL_7 = 0o7777777;

/** @internal The largest value of a 12-byte octal field (11 digits and a NUL): 8 GiB - 1. */
export const MAX_OCTAL_11 = 0o77777777777;

/** @internal Typeflags, as char codes. */
export const TypeFlag = {
  file: 0x30, // '0'
  oldFile: 0x00, // '\0', pre-POSIX regular file
  hardlink: 0x31, // '1'
  symlink: 0x32, // '2'
  char: 0x33, // '3'
  block: 0x34, // '4'
  directory: 0x35, // '5'
  fifo: 0x36, // '6'
  contiguous: 0x37, // '7', read as a regular file
  paxHeader: 0x78, // 'x'
  paxGlobalHeader: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
  gnuVolumeLabel: 0x56, // 'V'
} as const;

/** @internal The fields of a header block to encode; strings are already UTF-8 bytes. */
export interface HeaderFields {
  readonly name: Uint8Array;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: number;
  readonly linkname: Uint8Array;
  readonly uname: Uint8Array;
  readonly gname: Uint8Array;
  /** `undefined` leaves the field empty (all NULs), as GNU tar does in extended headers. */
  readonly devmajor: number | undefined;
  readonly devminor: number | undefined;
}

/** @internal A decoded header block, before extended headers are applied. */
export interface DecodedHeader {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: number;
  readonly linkname: string;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
  readonly format: 'ustar' | 'gnu' | 'v7';
}

// Field offsets and lengths (ustar).
const NAME = [0, 100] as const;
const MODE = [100, 8] as const;
const UID = [108, 8] as const;
const GID = [116, 8] as const;
const SIZE = [124, 12] as const;
const MTIME = [136, 12] as const;
const CHKSUM = [148, 8] as const;
const TYPEFLAG = 156;
const LINKNAME = [157, 100] as const;
const MAGIC = [257, 6] as const;
const VERSION = [263, 2] as const;
const UNAME = [265, 32] as const;
const GNAME = [297, 32] as const;
const DEVMAJOR = [329, 8] as const;
const DEVMINOR = [337, 8] as const;
const PREFIX = [345, 155] as const;
const STAR_PREFIX_LENGTH = 131; // star keeps atime/ctime after a shorter prefix
const STAR_TRAILER = 508;
const STAR_TRAILER_BYTES = new Uint8Array([0x74, 0x61, 0x72, 0x00]); // "tar\0"
const USTAR_PREFIX = new Uint8Array([0x75, 0x73, 0x74, 0x61, 0x72]); // "ustar"

const SPACE = 0x20;
const SLASH = 0x2f;
const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

const EMPTY = new Uint8Array(0);
const USTAR_MAGIC_VERSION = new Uint8Array([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]); // "ustar\0" "00"

/** @internal Encodes a string as UTF-8. */
export function encodeUtf8(text: string): Uint8Array {
  return text === '' ? EMPTY : utf8Encoder.encode(text);
}

/**
 * @internal Encodes one header block into `block` (512 zero bytes), and returns it.
 * Values must fit their fields: callers move big ones to PAX records, except a size of
 * 8 GiB or more, which is written in GNU base-256 form when a caller leaves it here.
 */
export function encodeHeader(
  fields: HeaderFields,
  block: Uint8Array = new Uint8Array(BLOCK_SIZE),
): Uint8Array {
  block.set(fields.name.subarray(0, NAME[1]), NAME[0]);
  writeOctal(block, MODE, fields.mode);
  writeOctal(block, UID, fields.uid);
  writeOctal(block, GID, fields.gid);
  if (fields.size > MAX_OCTAL_11) writeBase256(block, SIZE, fields.size);
  else writeOctal(block, SIZE, fields.size);
  writeOctal(block, MTIME, fields.mtime);
  block[TYPEFLAG] = fields.typeflag;
  block.set(fields.linkname.subarray(0, LINKNAME[1]), LINKNAME[0]);
  block.set(USTAR_MAGIC_VERSION, MAGIC[0]);
  // POSIX ends user and group names with a NUL: at most 31 bytes fit (GNU tar cuts there too).
  block.set(fields.uname.subarray(0, UNAME[1] - 1), UNAME[0]);
  block.set(fields.gname.subarray(0, GNAME[1] - 1), GNAME[0]);
  if (fields.devmajor !== undefined) writeOctal(block, DEVMAJOR, fields.devmajor);
  if (fields.devminor !== undefined) writeOctal(block, DEVMINOR, fields.devminor);
  const sum = unsignedChecksum(block); // the checksum field is still empty
  // GNU tar: six digits, a NUL, and the space already counted in the sum.
  writeAscii(block, CHKSUM[0], `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

// GNU base-256: the high bit of the first byte set, the value big-endian in the rest.
function writeBase256(block: Uint8Array, [offset, length]: readonly [number, number], value: number): void {
  let rest = value;
  for (let index = offset + length - 1; index > offset; index--) {
    block[index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  block[offset] = 0x80;
}

function writeOctal(block: Uint8Array, [offset, length]: readonly [number, number], value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new RangeError(`${value} does not fit a ${length}-byte octal field`);
  writeAscii(block, offset, digits); // the NUL terminator is already there
}

function writeAscii(block: Uint8Array, offset: number, text: string): void {
  for (let index = 0; index < text.length; index++) block[offset + index] = text.charCodeAt(index);
}

/** @internal Whether a block is all zeros (an end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let index = 0; index < block.length; index++) if (block[index] !== 0) return false;
  return true;
}

// The header checksum: the sum of the block's bytes, the checksum field counted as spaces.
function unsignedChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let index = 0; index < BLOCK_SIZE; index++) sum += block[index] as number;
  for (let index = CHKSUM[0]; index < CHKSUM[0] + CHKSUM[1]; index++) sum -= block[index] as number;
  return sum + SPACE * CHKSUM[1];
}

// The same with bytes taken as signed, as old Sun and BSD tars summed them.
function signedChecksum(block: Uint8Array): number {
  let sum = unsignedChecksum(block);
  for (let index = 0; index < BLOCK_SIZE; index++) {
    const inField = index >= CHKSUM[0] && index < CHKSUM[0] + CHKSUM[1];
    if (!inField && (block[index] as number) >= 0x80) sum -= 0x100;
  }
  return sum;
}

/**
 * @internal Decodes a non-zero header block read at byte `offset` of the archive.
 * @throws {ArchiveError} `ERR_TAR_INVALID` for a bad checksum or a malformed numeric field.
 */
export function decodeHeader(block: Uint8Array, offset: number): DecodedHeader {
  const stored = parseNumeric(block, CHKSUM, 'checksum', offset);
  const unsigned = unsignedChecksum(block);
  // GNU tar and Go accept either sum.
  if (stored !== unsigned && stored !== signedChecksum(block)) {
    throw new ArchiveError(
      'ERR_TAR_INVALID',
      `invalid tar header at byte ${offset}: checksum ${stored} does not match ${unsigned} (not a tar archive, or still compressed?)`,
      { value: stored, expected: unsigned, actual: stored },
    );
  }
  const format = headerFormat(block);

  let name = cString(block, NAME);
  if (format === 'ustar') {
    const star = hasBytes(block, STAR_TRAILER, STAR_TRAILER_BYTES);
    const prefix = cString(block, [PREFIX[0], star ? STAR_PREFIX_LENGTH : PREFIX[1]]);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const modern = format !== 'v7';
  // Base-256 can say -1; an id or a size cannot be negative (an mtime can).
  const uid = parseNumeric(block, UID, 'uid', offset);
  if (uid < 0) throw invalidField('uid', uid, offset);
  const gid = parseNumeric(block, GID, 'gid', offset);
  if (gid < 0) throw invalidField('gid', gid, offset);
  const size = parseNumeric(block, SIZE, 'size', offset);
  if (size < 0) throw invalidField('size', size, offset);
  return {
    name,
    // Some old tars stored the file type bits in mode as well; keep the permission bits.
    mode: parseNumeric(block, MODE, 'mode', offset) & 0o7777,
    uid,
    gid,
    size,
    mtime: parseNumeric(block, MTIME, 'mtime', offset),
    typeflag: block[TYPEFLAG] as number,
    linkname: cString(block, LINKNAME),
    uname: modern ? cString(block, UNAME) : '',
    gname: modern ? cString(block, GNAME) : '',
    devmajor: modern ? parseNumeric(block, DEVMAJOR, 'devmajor', offset) : 0,
    devminor: modern ? parseNumeric(block, DEVMINOR, 'devminor', offset) : 0,
    format,
  };
}

// As in Go's archive/tar: "ustar\0" (POSIX, or star with its
// trailer), "ustar " + " \0" (GNU), anything else is v7.
function headerFormat(block: Uint8Array): 'ustar' | 'gnu' | 'v7' {
  if (!hasBytes(block, MAGIC[0], USTAR_PREFIX)) return 'v7';
  if (block[MAGIC[0] + 5] === 0) return 'ustar';
  return block[MAGIC[0] + 5] === SPACE && block[VERSION[0]] === SPACE && block[VERSION[0] + 1] === 0
    ? 'gnu'
    : 'v7';
}

function hasBytes(block: Uint8Array, offset: number, bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index++) if (block[offset + index] !== bytes[index]) return false;
  return true;
}

function invalidField(field: string, value: unknown, offset: number): ArchiveError {
  return new ArchiveError(
    'ERR_TAR_INVALID',
    `invalid tar header at byte ${offset}: bad ${field} field ${excerpt(value)}`,
    { value },
  );
}

/** @internal The NUL-terminated UTF-8 string in `block` at `offset`, at most `length` bytes. */
export function cString(block: Uint8Array, [offset, length]: readonly [number, number]): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return utf8.decode(block.subarray(offset, end));
}

function latin1(block: Uint8Array, [offset, length]: readonly [number, number]): string {
  return String.fromCharCode(...block.subarray(offset, offset + length));
}

// Octal (optionally framed by spaces and NULs), or GNU base-256 when the high bit of the
// first byte is set: bit 6 of that byte is the sign, the rest is big-endian two's complement.
function parseNumeric(
  block: Uint8Array,
  [offset, length]: readonly [number, number],
  field: string,
  headerOffset: number,
): number {
  const first = block[offset] as number;
  if (first & 0x80) {
    const negative = (first & 0x40) !== 0;
    const invert = negative ? 0xff : 0;
    let value = (first ^ invert) & 0x7f;
    for (let index = offset + 1; index < offset + length; index++) {
      value = value * 256 + ((block[index] as number) ^ invert);
      if (value > Number.MAX_SAFE_INTEGER)
        throw invalidField(field, 'base-256 value too large', headerOffset);
    }
    return negative ? -value - 1 : value;
  }
  let index = offset;
  const end = offset + length;
  while (index < end && (block[index] === SPACE || block[index] === 0)) index++;
  let value = 0;
  for (; index < end; index++) {
    const byte = block[index] as number;
    if (byte === SPACE || byte === 0) break;
    if (byte < 0x30 || byte > 0x37) throw invalidField(field, latin1(block, [offset, length]), headerOffset);
    value = value * 8 + (byte - 0x30);
  }
  return value;
}

/** @internal The ustar name of an extended header: GNU tar's `%d/PaxHeaders/%f`, as UTF-8. */
export function paxHeaderName(name: string): Uint8Array {
  let end = name.length;
  while (end > 1 && name.charCodeAt(end - 1) === SLASH) end--;
  const trimmed = name.slice(0, end);
  const cut = trimmed.lastIndexOf('/');
  const directory = cut < 0 ? '.' : cut === 0 ? '' : trimmed.slice(0, cut);
  return encodeUtf8(`${directory}/PaxHeaders/${trimmed.slice(cut + 1)}`).subarray(0, NAME[1]);
}

// "%d %s=%s\n" where %d counts the whole record, its own digits included.
/** @internal Encodes PAX records, in the order given. */
export function encodePaxRecords(records: Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of records) {
    const keyBytes = encodeUtf8(key);
    const body = keyBytes.length + value.length + 3; // ' ', '=', '\n'
    let digits = String(body).length;
    let length = body + digits;
    while (String(length).length !== digits) {
      digits = String(length).length;
      length = body + digits;
    }
    const record = new Uint8Array(length);
    const prefix = `${length} `;
    writeAscii(record, 0, prefix);
    record.set(keyBytes, prefix.length);
    record[prefix.length + keyBytes.length] = 0x3d; // '='
    record.set(value, prefix.length + keyBytes.length + 1);
    record[length - 1] = 0x0a;
    parts.push(record);
  }
  return concatBytes(parts);
}

/**
 * @internal Decodes the records of a PAX extended header read at byte `offset`, in order.
 * @throws {ArchiveError} `ERR_TAR_INVALID` for a malformed record.
 */
export function decodePaxRecords(data: Uint8Array, offset: number): Array<[string, Uint8Array]> {
  const records: Array<[string, Uint8Array]> = [];
  let position = 0;
  while (position < data.length) {
    if (data.subarray(position).every((byte) => byte === 0)) break; // some writers pad with NULs
    let cursor = position;
    let length = 0;
    while (cursor < data.length && (data[cursor] as number) >= 0x30 && (data[cursor] as number) <= 0x39) {
      length = length * 10 + ((data[cursor] as number) - 0x30);
      cursor++;
      if (length > data.length) break;
    }
    const end = position + length;
    if (
      cursor === position ||
      data[cursor] !== SPACE ||
      length > data.length - position ||
      cursor + 1 >= end ||
      data[end - 1] !== 0x0a
    ) {
      throw malformedPax(data.subarray(position, position + 40), offset);
    }
    const recordBody = data.subarray(cursor + 1, end - 1);
    const equals = recordBody.indexOf(0x3d);
    if (equals <= 0) throw malformedPax(data.subarray(position, end), offset);
    records.push([utf8.decode(recordBody.subarray(0, equals)), recordBody.subarray(equals + 1)]);
    position = end;
  }
  return records;
}

function malformedPax(bytes: Uint8Array, offset: number): ArchiveError {
  const shown = utf8.decode(bytes);
  return new ArchiveError('ERR_TAR_INVALID', `malformed PAX record at byte ${offset}: ${excerpt(shown)}`, {
    value: shown,
  });
}

/** @internal Whether a PAX key holds a byte string (an extended attribute value) rather than UTF-8. */
export function isBinaryPaxKey(key: string): boolean {
  return key.startsWith('SCHILY.xattr.');
}

/**
 * @internal The bytes of a PAX value: UTF-8, or one byte per character for binary keys
 * (`undefined` when a character of a binary value exceeds 255).
 */
export function encodePaxValue(key: string, value: string): Uint8Array | undefined {
  if (!isBinaryPaxKey(key)) return encodeUtf8(value);
  const bytes = new Uint8Array(value.length);
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code > 0xff) return undefined;
    bytes[index] = code;
  }
  return bytes;
}

/** @internal Whether a string is ASCII only. */
export function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/** @internal The string of a PAX value: UTF-8, or one character per byte for binary keys. */
export function decodePaxValue(key: string, bytes: Uint8Array): string {
  if (!isBinaryPaxKey(key)) return utf8.decode(bytes);
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  }
  return text;
}
