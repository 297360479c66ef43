import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArchiveError } from './archive-errors.ts';
import {
  decodeHeader,
  decodePaxRecords,
  decodePaxValue,
  encodeHeader,
  encodePaxRecords,
  encodePaxValue,
  encodeUtf8,
  type HeaderFields,
  MAX_OCTAL_7,
  MAX_OCTAL_11,
  paxHeaderName,
} from './tar-header.ts';

const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const ascii = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0));

function fields(overrides: Partial<HeaderFields> = {}): HeaderFields {
  return {
    name: ascii('file'),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    typeflag: 0x30,
    linkname: new Uint8Array(0),
    uname: new Uint8Array(0),
    gname: new Uint8Array(0),
    devmajor: 0,
    devminor: 0,
    ...overrides,
  };
}

function rechecksum(block: Uint8Array, signed = false): Uint8Array {
  block.set(ascii('        '), 148);
  let sum = 0;
  for (const byte of block) sum += signed && byte >= 0x80 ? byte - 256 : byte;
  block.set(ascii(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return block;
}

// Printable ASCII without NUL, as fixed-width fields hold it.
const asciiBytes = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.string({ unit: 'grapheme-ascii', maxLength: max }).map((text) => ascii(text.replaceAll('\0', '')));

describe('tar header blocks', () => {
  it('decode(encode(fields)) gives the fields back', () => {
    fc.assert(
      fc.property(
        fc.record({
          name: asciiBytes(100).filter((name) => name.length > 0),
          mode: fc.integer({ min: 0, max: 0o7777 }),
          uid: fc.integer({ min: 0, max: MAX_OCTAL_7 }),
          gid: fc.integer({ min: 0, max: MAX_OCTAL_7 }),
          size: fc.integer({ min: 0, max: MAX_OCTAL_11 }),
          mtime: fc.integer({ min: 0, max: MAX_OCTAL_11 }),
          typeflag: fc.constantFrom(...'0123456xgLK'.split('').map((char) => char.charCodeAt(0))),
          linkname: asciiBytes(100),
          uname: asciiBytes(31),
          gname: asciiBytes(31),
          devmajor: fc.integer({ min: 0, max: MAX_OCTAL_7 }),
          devminor: fc.integer({ min: 0, max: MAX_OCTAL_7 }),
        }),
        (input) => {
          const decoded = decodeHeader(encodeHeader(input), 0);
          expect(decoded).toEqual({
            ...input,
            name: latin1(input.name),
            linkname: latin1(input.linkname),
            uname: latin1(input.uname),
            gname: latin1(input.gname),
            format: 'ustar',
          });
        },
      ),
    );
  });

  it('writes numbers and the checksum as GNU tar does', () => {
    const block = encodeHeader(fields({ mode: 0o4755, size: 6, mtime: 1_700_000_000 }));
    expect(latin1(block.subarray(100, 108))).toBe('0004755\0');
    expect(latin1(block.subarray(124, 136))).toBe('00000000006\0');
    expect(latin1(block.subarray(136, 148))).toBe('14524770400\0');
    expect(latin1(block.subarray(148, 156))).toMatch(/^[0-7]{6}\0 $/);
    expect(latin1(block.subarray(257, 265))).toBe('ustar\x0000');
    expect(latin1(block.subarray(329, 345))).toBe('0000000\x000000000\0');
    const pax = encodeHeader(fields({ devmajor: undefined, devminor: undefined }));
    expect(pax.subarray(329, 345).every((byte) => byte === 0)).toBe(true);
    expect(() => encodeHeader(fields({ uid: MAX_OCTAL_7 + 1 }))).toThrow(RangeError);
  });

  it('reads GNU base-256 numbers, positive and negative', () => {
    const block = encodeHeader(fields());
    block.set([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x05], 124); // size 2^33 + 5
    block.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed, 0x30, 0x08, 0x80], 136); // 1960-01-01
    block.set([0x80, 0, 0, 0, 0, 0x2d, 0xc6, 0xc0], 108); // uid 3000000
    const decoded = decodeHeader(rechecksum(block), 0);
    expect(decoded).toMatchObject({ size: 2 ** 33 + 5, mtime: -315_619_200, uid: 3_000_000 });

    block.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 124); // size -1
    expect(() => decodeHeader(rechecksum(block), 0)).toThrow(ArchiveError);
    block.set([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 124); // > 2^53
    expect(() => decodeHeader(rechecksum(block), 0)).toThrow(/too large/);
  });

  it('accepts octal framed by spaces and NULs, and old signed checksums', () => {
    const block = encodeHeader(fields({ name: encodeUtf8('ünï') }));
    block.set(ascii('  644 \0\0'), 100);
    block.set(ascii('\0\0\0\0\0\0\0\0'), 108);
    expect(decodeHeader(rechecksum(block, true), 512)).toMatchObject({ mode: 0o644, uid: 0, name: 'ünï' });
  });

  it('rejects a bad checksum and non-octal digits with ERR_TAR_INVALID', () => {
    const block = encodeHeader(fields());
    block[0] = 0x41;
    expect(() => decodeHeader(block, 1024)).toThrow(/invalid tar header at byte 1024: checksum/);
    block.set(ascii('00006x4\0'), 100);
    expect(() => decodeHeader(rechecksum(block), 0)).toThrow(/bad mode field/);
  });

  it('detects the format: POSIX ustar (with its prefix), GNU (without), v7', () => {
    const block = encodeHeader(fields());
    block.set(ascii('some/dir'), 345);
    expect(decodeHeader(rechecksum(block), 0)).toMatchObject({ name: 'some/dir/file', format: 'ustar' });
    block.set(ascii('ustar  \0'), 257);
    expect(decodeHeader(rechecksum(block), 0)).toMatchObject({ name: 'file', format: 'gnu' });
    block.fill(0, 257, 265);
    block.set(ascii('name'), 265);
    expect(decodeHeader(rechecksum(block), 0)).toMatchObject({ name: 'file', format: 'v7', uname: '' });
  });

  it('names extended headers as GNU tar does: %d/PaxHeaders/%f, at most 100 bytes', () => {
    const name = (path: string): string => new TextDecoder().decode(paxHeaderName(path));
    expect(name('a/b/c')).toBe('a/b/PaxHeaders/c');
    expect(name('c')).toBe('./PaxHeaders/c');
    expect(name('dir/')).toBe('./PaxHeaders/dir');
    expect(name('/abs')).toBe('/PaxHeaders/abs');
    expect(paxHeaderName(`a/${'x'.repeat(200)}`).length).toBe(100);
  });
});

describe('PAX records', () => {
  it('decode(encode(records)) gives the records back, across record-length digit boundaries', () => {
    const key = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
      .filter((text) => !/[=\0\n]/.test(text));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, fc.uint8Array({ maxLength: 1100 })), { maxLength: 6 }),
        (records) => {
          expect(decodePaxRecords(encodePaxRecords(records), 0)).toEqual(records);
        },
      ),
    );
  });

  it('counts the length digits themselves', () => {
    // a record's length counts its own digits: 8 bytes with one digit, 11 with two
    expect(latin1(encodePaxRecords([['a', ascii('bcd')]]))).toBe('8 a=bcd\n');
    expect(latin1(encodePaxRecords([['a', ascii('bcde')]]))).toBe('9 a=bcde\n');
    expect(latin1(encodePaxRecords([['a', ascii('bcdef')]]))).toBe('11 a=bcdef\n');
    // a body of 97 bytes makes a 99-byte record; one more byte needs a third digit: 101
    expect(latin1(encodePaxRecords([['k', new Uint8Array(93)]])).slice(0, 3)).toBe('99 ');
    expect(encodePaxRecords([['k', new Uint8Array(93)]]).length).toBe(99);
    expect(latin1(encodePaxRecords([['k', new Uint8Array(94)]])).slice(0, 4)).toBe('101 ');
    expect(encodePaxRecords([['k', new Uint8Array(94)]]).length).toBe(101);
  });

  it('keeps xattr values as bytes and everything else as UTF-8', () => {
    const bytes = new Uint8Array([0x80, 0x00, 0xff, 0x41]);
    expect(decodePaxValue('SCHILY.xattr.security.capability', bytes)).toBe('\x80\x00\xffA');
    expect(encodePaxValue('SCHILY.xattr.security.capability', '\x80\x00\xffA')).toEqual(bytes);
    expect(encodePaxValue('SCHILY.xattr.user.x', 'ā')).toBeUndefined();
    expect(decodePaxValue('comment', encodeUtf8('ünï'))).toBe('ünï');
  });

  it('tolerates NUL padding after the last record', () => {
    const data = new Uint8Array(64);
    data.set(ascii('8 a=bcd\n'));
    expect(decodePaxRecords(data, 0)).toEqual([['a', ascii('bcd')]]);
  });
});
