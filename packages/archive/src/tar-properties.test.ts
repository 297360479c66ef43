// Property tests: writeTar → readTar gives back every header and every byte, and no input
// makes readTar fail with anything but an ArchiveError.
import { collectBytes } from '@stevedore/digest';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArchiveError } from './archive-errors.ts';
import type { TarEntryInput, TarEntryType, TarHeader } from './tar-entry.ts';
import { readTar } from './tar-read.ts';
import { writeTar } from './tar-write.ts';

const RESERVED = new Set([
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'uname',
  'gname',
  'mtime',
  'atime',
  'ctime',
]);

// Unicode text without NUL; long enough to need PAX now and then.
const segment = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .map((text) => text.replaceAll('\0', '').replaceAll('/', '_'))
  .filter((text) => text !== '');
const path = fc.array(segment, { minLength: 1, maxLength: 8 }).map((segments) => segments.join('/'));
const owner = fc.string({ unit: 'grapheme', maxLength: 40 }).map((text) => text.replaceAll('\0', ''));
const textRecord = fc.tuple(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((key) => !/[=\0\n]/.test(key)),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
);
const xattrRecord = fc.tuple(
  fc.stringMatching(/^[a-z.]{1,12}$/).map((name) => `SCHILY.xattr.user.${name}`),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => String.fromCharCode(...bytes)),
);
const pax = fc
  .array(fc.oneof(textRecord, xattrRecord), { maxLength: 4 })
  .map((records) => Object.fromEntries(records.filter(([key]) => !RESERVED.has(key))));
const type = fc.constantFrom<TarEntryType>(
  'file',
  'directory',
  'symlink',
  'hardlink',
  'char',
  'block',
  'fifo',
);

const entry: fc.Arbitrary<{ input: TarEntryInput; chunks: number[] }> = fc
  .record({
    name: path,
    type,
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.oneof(fc.nat(0o7777777), fc.maxSafeNat()),
    gid: fc.oneof(fc.nat(0o7777777), fc.maxSafeNat()),
    uname: owner,
    gname: owner,
    mtime: fc.oneof(fc.nat(0o77777777777), fc.maxSafeNat()),
    linkname: path,
    devmajor: fc.nat(0o7777777),
    devminor: fc.nat(0o7777777),
    pax,
    content: fc.uint8Array({ maxLength: 1500 }),
    chunks: fc.array(fc.nat(600), { maxLength: 4 }),
  })
  .map(({ type, linkname, content, chunks, ...rest }) => {
    const input: TarEntryInput = {
      ...rest,
      type,
      ...(type === 'symlink' || type === 'hardlink' ? { linkname } : {}),
      ...(type === 'file' ? { content } : {}),
    };
    return { input, chunks };
  });

// Content as a stream cut at the given points, so sizes must be declared.
function streamed(content: Uint8Array, cuts: number[]): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      let offset = 0;
      for (const cut of cuts) {
        const end = Math.min(content.length, offset + cut);
        yield content.subarray(offset, end);
        offset = end;
      }
      yield content.subarray(offset);
    },
  };
}

function expected(input: TarEntryInput): TarHeader & { content: Uint8Array } {
  const content = input.content instanceof Uint8Array ? input.content : new Uint8Array(0);
  const isLink = input.type === 'symlink' || input.type === 'hardlink';
  return {
    name: input.type === 'directory' ? `${input.name}/` : input.name,
    type: input.type,
    mode: input.mode ?? 0,
    uid: input.uid ?? 0,
    gid: input.gid ?? 0,
    uname: input.uname ?? '',
    gname: input.gname ?? '',
    size: content.length,
    mtime: input.mtime ?? 0,
    linkname: isLink ? (input.linkname ?? '') : '',
    devmajor: input.devmajor ?? 0,
    devminor: input.devminor ?? 0,
    pax: input.pax ?? {},
    content,
  };
}

// Drives a reader to the end, reading every entry's content.
async function drain(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
  for await (const item of readTar(source)) for await (const _ of item.content);
}

async function expectOnlyArchiveErrors(source: Uint8Array): Promise<void> {
  try {
    await drain(source);
  } catch (error) {
    if (!(error instanceof ArchiveError)) throw error;
  }
}

// Sets a header block's checksum right, so that a fuzzed block reaches the field parsers.
function rechecksum(archive: Uint8Array, offset: number): void {
  archive.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let index = offset; index < offset + 512; index++) sum += archive[index] as number;
  const digits = `${sum.toString(8).padStart(6, '0')}\0 `;
  for (let index = 0; index < 8; index++) archive[offset + 148 + index] = digits.charCodeAt(index);
}

describe('tar properties', () => {
  it('writeTar → readTar gives back the same headers and contents, from chunks of any size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 6 }),
        fc.integer({ min: 1, max: 3000 }),
        async (entries, readChunk) => {
          const inputs = entries.map(({ input, chunks }, index) => {
            // every other file streams its content with a declared size
            if (index % 2 === 0 || !(input.content instanceof Uint8Array)) return input;
            return { ...input, size: input.content.length, content: streamed(input.content, chunks) };
          });
          const archive = await collectBytes(writeTar(inputs));
          async function* source(): AsyncGenerator<Uint8Array> {
            for (let offset = 0; offset < archive.length; offset += readChunk) {
              yield archive.subarray(offset, offset + readChunk);
            }
          }
          const read = [];
          for await (const { content, offset: _offset, ...header } of readTar(source())) {
            read.push({ ...header, pax: { ...header.pax }, content: await collectBytes(content) });
          }
          expect(read).toEqual(entries.map(({ input }) => expected(input)));
        },
      ),
    );
  });

  it('random bytes end cleanly or fail with an ArchiveError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (bytes) => {
        await expectOnlyArchiveErrors(bytes);
      }),
    );
  });

  it('fuzzed archives (bytes changed in checksummed headers, cut anywhere) end cleanly or fail with an ArchiveError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 12 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (entries, mutations, cut) => {
          const archive = await collectBytes(writeTar(entries.map(({ input }) => input)));
          const touched = new Set<number>();
          for (const [position, value] of mutations) {
            const index = position % archive.length;
            archive[index] = value;
            touched.add(index - (index % 512));
          }
          for (const block of touched) rechecksum(archive, block);
          await expectOnlyArchiveErrors(
            archive.subarray(0, cut === undefined ? undefined : cut % archive.length),
          );
        },
      ),
    );
  });

  it('headers of every typeflag with random fields end cleanly or fail with an ArchiveError', async () => {
    const block = fc
      .record({
        bytes: fc.uint8Array({ minLength: 512, maxLength: 512 }),
        flag: fc.constantFrom(...'0123456789xgLKVSDMN\0A'),
        magic: fc.constantFrom('ustar\x0000', 'ustar  \0', '\0\0\0\0\0\0\0\0'),
        size: fc.oneof(fc.nat(3000), fc.constant(2 ** 40)),
        base256: fc.boolean(),
      })
      .map(({ bytes, flag, magic, size, base256 }) => {
        const out = new Uint8Array(512 + 3000);
        out.set(bytes);
        out[156] = flag.charCodeAt(0);
        for (let index = 0; index < 8; index++) out[257 + index] = magic.charCodeAt(index);
        if (base256) {
          out[124] = 0x80;
          for (let index = 135, rest = size; index > 124; index--, rest = Math.floor(rest / 256)) {
            out[index] = rest % 256;
          }
        } else {
          const digits = `${size.toString(8).padStart(11, '0')}\0`;
          for (let index = 0; index < 12; index++) out[124 + index] = digits.charCodeAt(index);
        }
        rechecksum(out, 0);
        return out.subarray(0, 512 + (size % 3000));
      });
    await fc.assert(
      fc.asyncProperty(fc.array(block, { minLength: 1, maxLength: 4 }), async (blocks) => {
        await expectOnlyArchiveErrors(Buffer.concat(blocks));
      }),
    );
  });
});
