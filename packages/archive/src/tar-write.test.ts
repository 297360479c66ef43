import { readFileSync } from 'node:fs';
import { collectBytes } from '@stevedore/digest';
import { StevedoreError } from '@stevedore/errors';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveError } from './archive-errors.ts';
import type { TarEntryInput } from './tar-entry.ts';
import { decodeHeader } from './tar-header.ts';
import { readTar } from './tar-read.ts';
import { encodeFileHeaderBlock, tarEnd, tarPadding, writeTar } from './tar-write.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url)));
}

// GNU tar pads its output to whole records; our archive is the same bytes without the padding.
function expectSameAsGnu(ours: Uint8Array, gnu: Uint8Array): void {
  expect(ours.length % 512).toBe(0);
  expect(Buffer.from(ours).equals(Buffer.from(gnu.subarray(0, ours.length)))).toBe(true);
  expect(gnu.subarray(ours.length).every((byte) => byte === 0)).toBe(true);
}

async function expectArchiveError(promise: Promise<unknown>, code: string): Promise<ArchiveError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ArchiveError);
  expect(StevedoreError.is(error, code)).toBe(true);
  return error as ArchiveError;
}

// One character per byte (TextDecoder's 'latin1' is windows-1252).
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

const D150 = 'd'.repeat(150);
const F120 = 'f'.repeat(120);
const T110 = 't'.repeat(110);

describe('writeTar known answers (GNU tar 1.34 bytes, test/fixtures/make-fixtures.sh)', () => {
  it('writes a ustar archive byte for byte as GNU tar --format=ustar does', async () => {
    const ours = await collectBytes(
      writeTar([
        { name: 'root', type: 'directory', mode: 0o755 },
        { name: 'root/empty', type: 'directory', mode: 0o700 },
        { name: 'root/hard', type: 'file', mode: 0o644, content: text('hello\n') },
        { name: 'root/hello.txt', type: 'hardlink', mode: 0o644, linkname: 'root/hard' },
        { name: 'root/link', type: 'symlink', linkname: 'hello.txt' },
        { name: 'root/setuid', type: 'file', mode: 0o4755, content: text('x') },
      ]),
    );
    expectSameAsGnu(ours, fixture('gnu-ustar-kat.tar'));
  });

  it('writes PAX headers byte for byte as GNU tar --format=posix does', async () => {
    const base = { mtime: 1_700_000_000 };
    const ours = await collectBytes(
      writeTar([
        { ...base, name: 'root/', type: 'directory' },
        { ...base, name: `root/${D150}`, type: 'directory' },
        { ...base, name: `root/${D150}/${F120}`, type: 'file', content: text('long\n') },
        { ...base, name: `root/${D150}/hard`, type: 'file', content: text('hello\n') },
        { ...base, name: 'root/empty/', type: 'directory', mode: 0o700 },
        { ...base, name: 'root/fifo', type: 'fifo', mode: 0o600 },
        { ...base, name: 'root/hello.txt', type: 'hardlink', linkname: `root/${D150}/hard` },
        { ...base, name: 'root/longlink', type: 'symlink', linkname: T110 },
        { ...base, name: 'root/setuid', type: 'file', mode: 0o4755, content: text('x') },
        { ...base, name: 'root/ünïcödé.txt', type: 'file', content: text('unicode\n') },
      ]),
    );
    expectSameAsGnu(ours, fixture('gnu-posix-kat.tar'));
  });

  it('copies GNU tar archives byte for byte: writeTar(readTar(archive))', async () => {
    for (const name of ['gnu-ustar-kat.tar', 'gnu-posix-kat.tar']) {
      const archive = fixture(name);
      expectSameAsGnu(await collectBytes(writeTar(readTar(archive))), archive);
    }
  });

  it('writes the fields GNU tar does not: xattrs sorted, big ids and sizes, non-ASCII owners', async () => {
    const [header] = await headerBlocks({
      name: 'x',
      type: 'file',
      uid: 3_000_000,
      gid: 0o7777777,
      uname: 'ünï',
      gname: 'g'.repeat(33),
      mtime: 2 ** 34,
      size: 2 ** 33,
      content: zeros(2 ** 33),
      pax: { 'SCHILY.xattr.user.b': '\x80\x00\xff', 'SCHILY.xattr.user.a': 'v', comment: 'ok' },
    });
    const records = latin1(header?.subarray(512, 1024) as Uint8Array);
    expect(records.replace(/\0+$/, '')).toBe(
      '15 uid=3000000\n' +
        '15 uname=\xc3\xbcn\xc3\xaf\n' +
        `43 gname=${'g'.repeat(33)}\n` +
        '19 size=8589934592\n' +
        '21 mtime=17179869184\n' +
        '25 SCHILY.xattr.user.a=v\n' +
        '27 SCHILY.xattr.user.b=\x80\x00\xff\n' +
        '14 comment=ok\n',
    );
    // the ustar fields that cannot hold the values are zero; gid fits exactly
    const block = header?.subarray(1024, 1536) as Uint8Array;
    const field = (offset: number, length: number): string => latin1(block.subarray(offset, offset + length));
    expect(field(108, 8)).toBe('0000000\0');
    expect(field(116, 8)).toBe('7777777\0');
    expect(field(124, 12)).toBe('00000000000\0');
    expect(field(136, 12)).toBe('00000000000\0');
    expect(field(265, 32).replace(/\0+$/, '')).toBe('\xc3\xbcn\xc3\xaf');

    // read back from the header blocks alone: every value is there; the content is not
    const entries = readTar(header as Uint8Array)[Symbol.asyncIterator]();
    const first = await entries.next();
    expect(first.value).toMatchObject({
      size: 2 ** 33,
      uid: 3_000_000,
      gid: 0o7777777,
      uname: 'ünï',
      gname: 'g'.repeat(33),
      mtime: 2 ** 34,
      pax: { 'SCHILY.xattr.user.a': 'v', 'SCHILY.xattr.user.b': '\x80\x00\xff', comment: 'ok' },
    });
    await expectArchiveError(entries.next(), 'ERR_TAR_TRUNCATED');
    expect(field(297, 32)).toBe(`${'g'.repeat(31)}\0`);
  });
});

function zeros(total: number, chunkSize = 8 * 1024 * 1024): AsyncIterable<Uint8Array> {
  const chunk = new Uint8Array(chunkSize);
  return {
    async *[Symbol.asyncIterator]() {
      for (let left = total; left > 0; left -= chunkSize) {
        yield left >= chunkSize ? chunk : chunk.subarray(0, left);
      }
    },
  };
}

// The chunks of the archive up to the first content chunk: the header blocks of one entry.
async function headerBlocks(entry: TarEntryInput): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of writeTar([entry])) {
    chunks.push(chunk);
    break;
  }
  return chunks;
}

describe('writeTar', () => {
  it('is deterministic: same entries, same bytes; nothing comes from the clock or the process', async () => {
    const entries = (): TarEntryInput[] => [
      { name: 'a', type: 'directory' },
      { name: 'a/b', type: 'file', content: text('b') },
    ];
    const first = await collectBytes(writeTar(entries()));
    const second = await collectBytes(writeTar(entries()));
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
    const headers = [];
    for await (const { content: _, ...header } of readTar(first)) headers.push(header);
    expect(headers).toEqual([
      expect.objectContaining({ name: 'a/', mode: 0o755, mtime: 0, uid: 0, gid: 0, uname: '', gname: '' }),
      expect.objectContaining({ name: 'a/b', mode: 0o644, mtime: 0, uid: 0, gid: 0, size: 1 }),
    ]);
  });

  it('takes missing mtimes from sourceDateEpoch and clamps later ones to it', async () => {
    const archive = writeTar(
      [
        { name: 'none', type: 'file' },
        { name: 'old', type: 'file', mtime: 5 },
        { name: 'new', type: 'file', mtime: 2_000_000_000 },
      ],
      { sourceDateEpoch: 1_700_000_000 },
    );
    const mtimes = [];
    for await (const entry of readTar(await collectBytes(archive))) mtimes.push(entry.mtime);
    expect(mtimes).toEqual([1_700_000_000, 5, 1_700_000_000]);
  });

  it('keeps mode bits, owners and device numbers as given', async () => {
    const archive = await collectBytes(
      writeTar([
        { name: 'tmp', type: 'directory', mode: 0o1777 },
        { name: 'su', type: 'file', mode: 0o6755, uid: 1000, gid: 100, uname: 'me', gname: 'users' },
        { name: 'null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
        { name: 'sda', type: 'block', devmajor: 8, devminor: 0 },
      ]),
    );
    const seen = [];
    for await (const { content: _, ...header } of readTar(archive)) seen.push(header);
    expect(seen.map((header) => [header.name, header.mode.toString(8), header.type])).toEqual([
      ['tmp/', '1777', 'directory'],
      ['su', '6755', 'file'],
      ['null', '666', 'char'],
      ['sda', '644', 'block'],
    ]);
    expect(seen[1]).toMatchObject({ uid: 1000, gid: 100, uname: 'me', gname: 'users' });
    expect(seen[2]).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(seen[3]).toMatchObject({ devmajor: 8, devminor: 0 });
  });

  it('never writes atime or ctime records, even when the entry carries them', async () => {
    const archive = await collectBytes(
      writeTar([{ name: 'f', type: 'file', pax: { atime: '1.5', ctime: '2.5', comment: 'kept' } }]),
    );
    const records = new TextDecoder().decode(archive.subarray(512, 1024));
    expect(records).not.toMatch(/atime|ctime/);
    for await (const entry of readTar(archive)) expect(entry.pax).toEqual({ comment: 'kept' });
  });

  it('ends with two zero blocks and pads content to whole blocks', async () => {
    const archive = await collectBytes(writeTar([{ name: 'f', type: 'file', content: text('abc') }]));
    expect(archive.length).toBe(512 + 512 + 1024);
    expect(archive.subarray(512 + 3).every((byte) => byte === 0)).toBe(true);
    expect((await collectBytes(writeTar([]))).length).toBe(1024);
  });

  it('streams content through: each chunk goes out before the next is asked for', async () => {
    const log: string[] = [];
    const big = new Uint8Array(64 * 1024);
    async function* content(): AsyncGenerator<Uint8Array> {
      for (let index = 0; index < 3; index++) {
        log.push(`produce ${index}`);
        yield big;
      }
    }
    for await (const chunk of writeTar([
      { name: 'f', type: 'file', size: 3 * big.length, content: content() },
    ])) {
      if (chunk === big) log.push('emit');
    }
    expect(log).toEqual(['produce 0', 'emit', 'produce 1', 'emit', 'produce 2', 'emit']);
  });

  it('gathers small pieces into 64 KiB chunks, and hands out no memory twice', async () => {
    const entries = Array.from({ length: 300 }, (_, index) => ({
      name: `f${index}`,
      type: 'file' as const,
      content: new Uint8Array(1000).fill(index),
    }));
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeTar(entries)) chunks.push(chunk);
    expect(chunks.length).toBeLessThan(10);
    expect(new Set(chunks.map((chunk) => chunk.buffer)).size).toBe(chunks.length);
  });

  it('reads a ReadableStream and an async iterable of entries', async () => {
    async function* entries(): AsyncGenerator<TarEntryInput> {
      yield {
        name: 'f',
        type: 'file',
        size: 4,
        content: new ReadableStream({
          start(controller) {
            controller.enqueue(text('ab'));
            controller.enqueue(text('cd'));
            controller.close();
          },
        }),
      };
    }
    const archive = await collectBytes(writeTar(entries()));
    for await (const entry of readTar(archive))
      expect(await collectBytes(entry.content)).toEqual(text('abcd'));
  });

  it('fails with ERR_TAR_SIZE_MISMATCH as soon as content overruns its size', async () => {
    let produced = 0;
    async function* content(): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced++;
        yield new Uint8Array(100);
      }
    }
    const error = await expectArchiveError(
      collectBytes(writeTar([{ name: 'f', type: 'file', size: 250, content: content() }])),
      'ERR_TAR_SIZE_MISMATCH',
    );
    expect(produced).toBe(3);
    expect(error).toMatchObject({ path: 'f', expected: 250, actual: 300 });
  });

  it('fails with ERR_TAR_SIZE_MISMATCH when content is short, or a Uint8Array disagrees', async () => {
    await expectArchiveError(
      collectBytes(writeTar([{ name: 'f', type: 'file', size: 10, content: zeros(5) }])),
      'ERR_TAR_SIZE_MISMATCH',
    );
    await expectArchiveError(
      collectBytes(writeTar([{ name: 'f', type: 'file', size: 2, content: text('abc') }])),
      'ERR_TAR_SIZE_MISMATCH',
    );
    await expectArchiveError(
      collectBytes(writeTar([{ name: 'f', type: 'file', size: 2 }])),
      'ERR_TAR_SIZE_MISMATCH',
    );
  });

  it('writes the header of a file over 8 GiB through PAX and streams 8 GiB without holding it', async () => {
    const size = 2 ** 33 + 5;
    let total = 0;
    let entries = 0;
    for await (const entry of readTar(
      writeTar([{ name: 'big', type: 'file', size, content: zeros(size) }]),
    )) {
      entries++;
      expect(entry.size).toBe(size);
      for await (const chunk of entry.content) total += chunk.length;
    }
    expect(entries).toBe(1);
    expect(total).toBe(size);
  });

  it.each<[string, unknown]>([
    ['an empty name', { name: '', type: 'file' }],
    ['a NUL in the name', { name: 'a\0b', type: 'file' }],
    ['a NUL in the linkname', { name: 'l', type: 'symlink', linkname: 'a\0' }],
    ['a NUL in the uname', { name: 'f', type: 'file', uname: 'a\0' }],
    ['an unknown type', { name: 'f', type: 'socket' }],
    ['a file name ending in /', { name: 'f/', type: 'file' }],
    ['a symlink without target', { name: 'l', type: 'symlink' }],
    ['a hardlink without target', { name: 'l', type: 'hardlink', linkname: '' }],
    ['a linkname on a file', { name: 'f', type: 'file', linkname: 'x' }],
    ['content on a directory', { name: 'd', type: 'directory', content: new Uint8Array(1) }],
    ['a size on a symlink', { name: 'l', type: 'symlink', linkname: 'x', size: 3 }],
    ['a pax path record', { name: 'f', type: 'file', pax: { path: 'g' } }],
    ['a pax size record', { name: 'f', type: 'file', pax: { size: '3' } }],
    ['a pax key with =', { name: 'f', type: 'file', pax: { 'a=b': 'c' } }],
    ['an empty pax key', { name: 'f', type: 'file', pax: { '': 'c' } }],
    ['an xattr value beyond bytes', { name: 'f', type: 'file', pax: { 'SCHILY.xattr.user.x': 'ā' } }],
  ])('rejects %s with ERR_TAR_INVALID_ENTRY', async (_, entry) => {
    await expectArchiveError(collectBytes(writeTar([entry as TarEntryInput])), 'ERR_TAR_INVALID_ENTRY');
  });

  it.each<[string, unknown, ErrorConstructor]>([
    ['a negative uid', { name: 'f', type: 'file', uid: -1 }, RangeError],
    ['a fractional mtime', { name: 'f', type: 'file', mtime: 1.5 }, RangeError],
    ['a negative mtime', { name: 'f', type: 'file', mtime: -1 }, RangeError],
    ['a mode beyond 0o7777', { name: 'f', type: 'file', mode: 0o100644 }, RangeError],
    ['a devmajor beyond the octal field', { name: 'c', type: 'char', devmajor: 0o10000000 }, RangeError],
    ['an unsafe size', { name: 'f', type: 'file', size: 2 ** 53 }, RangeError],
    ['NaN', { name: 'f', type: 'file', gid: Number.NaN }, RangeError],
    ['a string uid', { name: 'f', type: 'file', uid: '0' }, TypeError],
    ['a non-string name', { name: 7, type: 'file' }, TypeError],
    ['a null entry', null, TypeError],
    ['a stream without size', { name: 'f', type: 'file', content: zeros(1) }, TypeError],
    ['a non-string pax value', { name: 'f', type: 'file', pax: { a: 1 } }, TypeError],
  ])('rejects %s with a TypeError or RangeError', async (_, entry, type) => {
    await expect(collectBytes(writeTar([entry as TarEntryInput]))).rejects.toThrow(type);
  });

  it('takes empty content on entries that have none (as readTar gives them), and nothing more', async () => {
    const archive = await collectBytes(
      writeTar([
        { name: 'd', type: 'directory', content: zeros(0) },
        { name: 'l', type: 'symlink', linkname: 'd', content: new Uint8Array(0) },
      ]),
    );
    expect(archive.length).toBe(2 * 512 + 1024);
    await expectArchiveError(
      collectBytes(writeTar([{ name: 'd', type: 'directory', content: zeros(1) }])),
      'ERR_TAR_INVALID_ENTRY',
    );
  });

  it('rejects bad options and entries that are not iterable', async () => {
    await expect(collectBytes(writeTar([], { sourceDateEpoch: -1 }))).rejects.toThrow(RangeError);
    await expect(collectBytes(writeTar(42 as unknown as TarEntryInput[]))).rejects.toThrow(TypeError);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const archive = writeTar(
      (function* () {
        yield { name: 'a', type: 'file' as const };
        controller.abort(new Error('stop'));
        yield { name: 'b', type: 'file' as const };
      })(),
      { signal: controller.signal },
    );
    await expect(collectBytes(archive)).rejects.toThrow('stop');
  });

  it('is read back by tar-stream, an independent implementation', async () => {
    const archive = await collectBytes(
      writeTar([
        { name: `a/${D150}/${F120}`, type: 'file', content: text('long') },
        { name: 'ünï', type: 'symlink', linkname: T110 },
        { name: 'd', type: 'directory', mode: 0o1777 },
        { name: 'x', type: 'file', content: text('xattr'), pax: { 'SCHILY.xattr.user.k': 'v' } },
      ]),
    );
    const extract = tarStream.extract();
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const entry of extract) {
        const body = await collectBytes(entry as AsyncIterable<Uint8Array>);
        const { name, type, mode, linkname, pax } = entry.header;
        seen.push({ name, type, mode, linkname, pax, body: new TextDecoder().decode(body) });
      }
    })();
    extract.end(Buffer.from(archive));
    await done;
    expect(seen).toEqual([
      {
        name: `a/${D150}/${F120}`,
        type: 'file',
        mode: 0o644,
        linkname: null,
        pax: expect.anything(),
        body: 'long',
      },
      { name: 'ünï', type: 'symlink', mode: 0o777, linkname: T110, pax: expect.anything(), body: '' },
      { name: 'd/', type: 'directory', mode: 0o1777, linkname: null, pax: null, body: '' },
      {
        name: 'x',
        type: 'file',
        mode: 0o644,
        linkname: null,
        pax: { 'SCHILY.xattr.user.k': 'v' },
        body: 'xattr',
      },
    ]);
  });
});

describe('encodeFileHeaderBlock', () => {
  it('is the block writeTar writes for the same file, so a placeholder can be written over', async () => {
    const content = new Uint8Array(1234).fill(7);
    const tar = await collectBytes(writeTar([{ name: 'abc/layer.tar', type: 'file', content }]));
    expect(encodeFileHeaderBlock({ name: 'abc/layer.tar', type: 'file', size: 1234 })).toEqual(
      tar.subarray(0, 512),
    );
    expect(tarPadding(1234)).toEqual(new Uint8Array(512 - (1234 % 512)));
    expect(tarPadding(1024)).toEqual(new Uint8Array(0));
    expect(tar.subarray(512 + 1536)).toEqual(tarEnd());
  });

  it('stays one block for sizes of 8 GiB and more (GNU base-256), which the reader decodes', () => {
    const size = 9 * 1024 ** 3 + 5;
    const block = encodeFileHeaderBlock({ name: 'big/layer.tar', type: 'file', size });
    expect(block.length).toBe(512);
    expect(block[124]).toBe(0x80);
    expect(decodeHeader(block, 0)).toMatchObject({ name: 'big/layer.tar', size });
  });

  it('refuses what needs an extended header', () => {
    expect(() => encodeFileHeaderBlock({ name: 'x'.repeat(101), type: 'file', size: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_TAR_INVALID_ENTRY' }),
    );
    expect(() => encodeFileHeaderBlock({ name: 'é', type: 'file', size: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_TAR_INVALID_ENTRY' }),
    );
  });
});
