import { readFileSync } from 'node:fs';
import { collectBytes, concatBytes } from '@stevedore/digest';
import { StevedoreError } from '@stevedore/errors';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveError } from './archive-errors.ts';
import type { TarEntry, TarHeader } from './tar-entry.ts';
import { encodeHeader, encodePaxRecords, encodeUtf8, type HeaderFields } from './tar-header.ts';
import { readTar } from './tar-read.ts';
import { writeTar } from './tar-write.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url)));
}

interface ReadEntry extends Omit<TarHeader, 'pax'> {
  readonly pax: Record<string, string>;
  readonly body: string;
}

async function readAll(source: Parameters<typeof readTar>[0]): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  for await (const { content, offset: _offset, ...header } of readTar(source)) {
    entries.push({
      ...header,
      pax: { ...header.pax },
      body: new TextDecoder().decode(await collectBytes(content)),
    });
  }
  return entries;
}

async function readError(source: Parameters<typeof readTar>[0], code: string): Promise<ArchiveError> {
  const error = await readAll(source).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ArchiveError);
  expect(StevedoreError.is(error, code)).toBe(true);
  return error as ArchiveError;
}

// Offsets in an archive: where each header block starts, and where its content ends (padded).
async function layout(archive: Uint8Array): Promise<Array<{ header: number; end: number }>> {
  const blocks: Array<{ header: number; end: number }> = [];
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const block = archive.subarray(offset, offset + 512);
    if (block.every((byte) => byte === 0)) break;
    const size = Number.parseInt(new TextDecoder().decode(block.subarray(124, 135)), 8);
    const end = offset + 512 + Math.ceil(size / 512) * 512;
    blocks.push({ header: offset, end });
    offset = end;
  }
  return blocks;
}

function header(fields: Omit<Partial<HeaderFields>, 'name'> & { name: string }): Uint8Array {
  return encodeHeader({
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
    ...fields,
    name: encodeUtf8(fields.name),
  });
}

// Rewrites the checksum after a block was edited.
function rechecksum(block: Uint8Array): Uint8Array {
  block.set(text('        '), 148);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.set(text(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
  return block;
}

function padded(data: Uint8Array): Uint8Array {
  return concatBytes([data, new Uint8Array((512 - (data.length % 512)) % 512)]);
}

function paxHeader(records: Array<[string, string]>, typeflag = 0x78): Uint8Array {
  const data = encodePaxRecords(records.map(([key, value]) => [key, text(value)]));
  return concatBytes([header({ name: 'PaxHeaders/x', size: data.length, typeflag }), padded(data)]);
}

const END = new Uint8Array(1024);
const D150 = 'd'.repeat(150);
const F120 = 'f'.repeat(120);
const T110 = 't'.repeat(110);
const defaults = { uid: 0, gid: 0, uname: '', gname: '', devmajor: 0, devminor: 0, linkname: '', pax: {} };
const basic: ReadEntry[] = [
  { ...defaults, name: 'root/', type: 'directory', mode: 0o755, size: 0, mtime: 1_700_000_000, body: '' },
  {
    ...defaults,
    name: 'root/empty/',
    type: 'directory',
    mode: 0o700,
    size: 0,
    mtime: 1_700_000_000,
    body: '',
  },
  {
    ...defaults,
    name: 'root/hard',
    type: 'file',
    mode: 0o644,
    size: 6,
    mtime: 1_700_000_000,
    body: 'hello\n',
  },
  {
    ...defaults,
    name: 'root/hello.txt',
    type: 'hardlink',
    mode: 0o644,
    size: 0,
    mtime: 1_700_000_000,
    linkname: 'root/hard',
    body: '',
  },
  {
    ...defaults,
    name: 'root/link',
    type: 'symlink',
    mode: 0o777,
    size: 0,
    mtime: 1_700_000_000,
    linkname: 'hello.txt',
    body: '',
  },
  { ...defaults, name: 'root/setuid', type: 'file', mode: 0o4755, size: 1, mtime: 1_700_000_000, body: 'x' },
];

// The "full" tree of make-fixtures.sh, as GNU tar stores it with --owner big:3000000.
function full(
  owner: { uname: string; gname: string },
  pax: (name: string) => Record<string, string>,
): ReadEntry[] {
  const base = {
    ...defaults,
    ...owner,
    uid: 3_000_000,
    gid: 3_000_001,
    mtime: 1_700_000_000,
    size: 0,
    body: '',
  };
  const entry = (name: string, rest: Partial<ReadEntry>): ReadEntry =>
    ({ ...base, name, pax: pax(name), ...rest }) as ReadEntry;
  return [
    entry('root/', { type: 'directory', mode: 0o755 }),
    entry(`root/${D150}/`, { type: 'directory', mode: 0o755 }),
    entry(`root/${D150}/${F120}`, { type: 'file', mode: 0o644, size: 5, body: 'long\n' }),
    entry(`root/${D150}/hard`, { type: 'file', mode: 0o644, size: 6, body: 'hello\n' }),
    entry('root/empty/', { type: 'directory', mode: 0o700 }),
    entry('root/fifo', { type: 'fifo', mode: 0o600 }),
    entry('root/hello.txt', { type: 'hardlink', mode: 0o644, linkname: `root/${D150}/hard` }),
    entry('root/longlink', { type: 'symlink', mode: 0o777, linkname: T110 }),
    entry('root/null', { type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }),
    entry('root/sda', { type: 'block', mode: 0o660, devmajor: 8, devminor: 0 }),
    entry('root/setuid', { type: 'file', mode: 0o4755, size: 1, body: 'x', mtime: -315_619_200 }),
    entry('root/ünïcödé.txt', { type: 'file', mode: 0o644, size: 8, body: 'unicode\n' }),
  ];
}

describe('readTar reads what GNU tar writes (test/fixtures/make-fixtures.sh)', () => {
  it('--format=ustar', async () => {
    expect(await readAll(fixture('gnu-ustar.tar'))).toEqual(basic);
  });

  it('--format=v7, padded to 10 KiB records', async () => {
    const archive = fixture('gnu-v7.tar');
    expect(archive.length).toBe(10240);
    expect(await readAll(archive)).toEqual(basic);
  });

  it('--format=gnu: ././@LongLink names and links, base-256 ids and a negative mtime', async () => {
    const archive = fixture('gnu-gnu.tar');
    expect(new TextDecoder().decode(archive.subarray(512, 512 + 13))).toBe('././@LongLink');
    expect(await readAll(archive)).toEqual(full({ uname: 'big', gname: 'big' }, () => ({})));
  });

  it('--format=posix: PAX records applied, xattrs and times kept, the global header skipped', async () => {
    const entries = await readAll(fixture('gnu-posix.tar'));
    expect(entries.map(({ pax, ...rest }) => rest)).toEqual(
      full({ uname: 'bïg', gname: 'big' }, () => ({})).map(({ pax, ...rest }) => rest),
    );
    for (const entry of entries) {
      expect(Object.keys(entry.pax).filter((key) => !key.startsWith('SCHILY.xattr.'))).toEqual([
        'atime',
        'ctime',
      ]);
    }
    const withXattrs = entries.find((entry) => entry.name === `root/${D150}/hard`);
    expect(withXattrs?.pax['SCHILY.xattr.user.comment']).toBe('hi there');
    expect(withXattrs?.pax['SCHILY.xattr.user.bin']).toBe('\x80\x00\xff'); // bytes, losslessly
    expect(JSON.stringify(entries)).not.toContain('made-by-gnu-tar'); // the global comment
  });

  it('reads an archive that ends without the two zero blocks (as umoci 0.4.7 writes layers)', async () => {
    const archive = fixture('gnu-ustar.tar');
    const end = (await layout(archive)).at(-1)?.end as number;
    expect(archive.subarray(end).every((byte) => byte === 0)).toBe(true);
    expect(await readAll(archive.subarray(0, end))).toEqual(basic);
    expect(await readAll(archive.subarray(0, end + 512))).toEqual(basic); // one zero block
  });

  it('fails with ERR_TAR_TRUNCATED when the input stops inside content or a header', async () => {
    const archive = fixture('gnu-ustar.tar');
    const file = (await layout(archive))[2] as { header: number; end: number }; // root/hard, 6 bytes
    const midContent = await readError(archive.subarray(0, file.header + 512 + 3), 'ERR_TAR_TRUNCATED');
    expect(midContent).toMatchObject({ path: 'root/hard' });
    await readError(archive.subarray(0, file.header + 100), 'ERR_TAR_TRUNCATED');
    await readError(archive.subarray(0, file.header + 512), 'ERR_TAR_TRUNCATED'); // no content at all
  });

  it('gives each entry the offset of its content, so it can be read again by range', async () => {
    for (const name of ['gnu-posix.tar', 'gnu-gnu.tar', 'gnu-v7.tar']) {
      const archive = fixture(name);
      let files = 0;
      for await (const entry of readTar(archive)) {
        const body = await collectBytes(entry.content);
        expect(archive.subarray(entry.offset, entry.offset + entry.size)).toEqual(body);
        if (entry.type === 'file' && entry.size > 0) files++;
      }
      expect(files).toBeGreaterThan(0);
    }
  });

  it('reads an archive whose last entry ends without its padding (umoci 0.4.7 insert layers)', async () => {
    // Go's tar writer pads an entry only when another follows or on Close; umoci's
    // layers stop right after the last file's bytes, and Go's reader accepts that.
    const archive = fixture('gnu-ustar.tar');
    const blocks = await layout(archive);
    const file = blocks[2] as { header: number; end: number }; // root/hard, 6 bytes
    const cut = await readAll(archive.subarray(0, file.header + 512 + 6));
    expect(cut).toEqual(basic.slice(0, 3));
    expect(await readAll(archive.subarray(0, file.header + 512 + 100))).toEqual(basic.slice(0, 3)); // partial padding
  });

  it('fails with ERR_TAR_TRUNCATED when the input stops right after an extended header', async () => {
    for (const name of ['gnu-posix.tar', 'gnu-gnu.tar']) {
      const archive = fixture(name);
      // the first PAX ('x') or GNU long-name ('L') header, without the entry it announces
      const blocks = await layout(archive);
      const extended = blocks.find((block) => [0x78, 0x4c].includes(archive[block.header + 156] as number));
      await readError(archive.subarray(0, extended?.end), 'ERR_TAR_TRUNCATED');
    }
  });

  it('fails with ERR_TAR_INVALID for a corrupt header and says where', async () => {
    const archive = fixture('gnu-ustar.tar').slice();
    const file = (await layout(archive))[2] as { header: number };
    archive[file.header + 10] = (archive[file.header + 10] as number) ^ 0x01;
    const error = await readError(archive, 'ERR_TAR_INVALID');
    expect(error.message).toContain(`byte ${file.header}`);
    await readError(text('definitely not a tar archive'.padEnd(600, '.')), 'ERR_TAR_INVALID');
    // a gzip stream is not a tar archive either
    await readError(
      concatBytes([new Uint8Array([0x1f, 0x8b, 8, 0]), new Uint8Array(1020).fill(7)]),
      'ERR_TAR_INVALID',
    );
  });

  it('fails with ERR_TAR_INVALID for malformed numbers and PAX records', async () => {
    const badOctal = header({ name: 'f' });
    badOctal.set(text('0000089'), 100); // mode
    await readError(concatBytes([rechecksum(badOctal), END]), 'ERR_TAR_INVALID');

    const broken = ['x 20 path=a\n', '30 path=too-short\n', '5 a=b\n', '7 =abc\n', '9 abc=de!', '7 abcd\n'];
    for (const records of broken) {
      const data = text(records);
      const archive = concatBytes([
        header({ name: 'p', size: data.length, typeflag: 0x78 }),
        padded(data),
        header({ name: 'f' }),
        END,
      ]);
      await readError(archive, 'ERR_TAR_INVALID');
    }
    for (const [key, value] of [
      ['size', '12x'],
      ['uid', '-1'],
      ['gid', '1e3'],
      ['mtime', '1.2.3'],
      ['size', '99999999999999999999'],
    ] as const) {
      await readError(
        concatBytes([paxHeader([[key, value]]), header({ name: 'f' }), END]),
        'ERR_TAR_INVALID',
      );
    }
    // an extended header larger than Go's archive/tar accepts
    const huge = header({ name: 'p', size: 2 * 1024 * 1024, typeflag: 0x78 });
    await readError(
      concatBytes([huge, new Uint8Array(2 * 1024 * 1024), header({ name: 'f' }), END]),
      'ERR_TAR_INVALID',
    );
    // a PAX header followed by the end of the archive
    await readError(concatBytes([paxHeader([['path', 'x']]), END]), 'ERR_TAR_INVALID');
  });

  it('applies PAX records: fractional and negative mtimes round down, empty values keep the field', async () => {
    const archive = concatBytes([
      paxHeader([
        ['mtime', '1700000000.75'],
        ['uid', '4000000000'],
        ['uname', 'ǜser'],
        ['linkpath', ''],
        ['comment', ''],
        ['hdrcharset', 'ISO-IR 10646 2000 UTF-8'],
      ]),
      header({ name: 'f', uid: 7, gid: 8, gname: text('group') }),
      paxHeader([['mtime', '-1.5']]),
      header({ name: 'g' }),
      paxHeader([['mtime', '-2']]),
      header({ name: 'h' }),
      END,
    ]);
    const [f, g, h] = await readAll(archive);
    expect(f).toMatchObject({
      mtime: 1_700_000_000,
      uid: 4_000_000_000,
      gid: 8,
      uname: 'ǜser',
      gname: 'group',
    });
    expect(f?.pax).toEqual({ comment: '', hdrcharset: 'ISO-IR 10646 2000 UTF-8' });
    expect(g?.mtime).toBe(-2);
    expect(h?.mtime).toBe(-2);
  });

  it('skips global headers entirely, and a later local header replaces an earlier one', async () => {
    const archive = concatBytes([
      paxHeader(
        [
          ['comment', 'global'],
          ['path', 'global-path'],
        ],
        0x67,
      ),
      header({ name: 'a' }),
      paxHeader([['path', 'first']]),
      paxHeader([['comment', 'second']]),
      header({ name: 'b' }),
      END,
    ]);
    const entries = await readAll(archive);
    expect(entries.map((entry) => [entry.name, entry.pax])).toEqual([
      ['a', {}],
      ['b', { comment: 'second' }],
    ]);
  });

  it('reads an old-style file entry with a trailing slash as a directory, and "7" as a file', async () => {
    const v7 = (name: string, typeflag: number, size = 0): Uint8Array => {
      const block = header({ name, typeflag, size });
      block.fill(0, 257, 265); // no magic, no version: v7
      return rechecksum(block);
    };
    const entries = await readAll(
      concatBytes([v7('dir/', 0), v7('old', 0, 3), padded(text('abc')), v7('c', 0x37), END]),
    );
    expect(entries.map((entry) => [entry.name, entry.type, entry.body])).toEqual([
      ['dir/', 'directory', ''],
      ['old', 'file', 'abc'],
      ['c', 'file', ''],
    ]);
  });

  it('reads links, devices, fifos and directories as carrying no data, whatever their size field says', async () => {
    // Go's archive/tar, and so containerd, read them so: the next block is the next header.
    const archive = concatBytes([
      header({ name: 'd/', typeflag: 0x35, size: 1000 }),
      header({ name: 'f' }),
      END,
    ]);
    expect((await readAll(archive)).map((entry) => [entry.name, entry.size])).toEqual([
      ['d/', 0],
      ['f', 0],
    ]);
  });

  it('skips GNU volume labels and fails on entry types it cannot represent', async () => {
    const label = concatBytes([header({ name: 'my label', typeflag: 0x56 }), header({ name: 'f' }), END]);
    expect((await readAll(label)).map((entry) => entry.name)).toEqual(['f']);
    for (const flag of 'SDMN8A') {
      const archive = concatBytes([header({ name: 'odd', typeflag: flag.charCodeAt(0) }), END]);
      const error = await readError(archive, 'ERR_TAR_UNSUPPORTED_ENTRY');
      expect(error).toMatchObject({ path: 'odd', value: flag });
    }
    // GNU sparse files in PAX form (format 1.0, as GNU tar --sparse --format=posix writes)
    const sparse = concatBytes([
      paxHeader([
        ['GNU.sparse.major', '1'],
        ['GNU.sparse.minor', '0'],
        ['GNU.sparse.name', 'f'],
        ['GNU.sparse.realsize', '1000000'],
      ]),
      header({ name: 'GNUSparseFile.0/f' }),
      END,
    ]);
    await readError(sparse, 'ERR_TAR_UNSUPPORTED_ENTRY');
  });

  it('stops at the end-of-archive marker, where GNU tar and containerd stop, and reads past it', async () => {
    const archive = fixture('gnu-ustar.tar');
    // a second archive after the first is not part of it
    expect(await readAll(concatBytes([archive, fixture('gnu-v7.tar')]))).toEqual(basic);
    // bytes after the end are read (a verifying source sees them all), and ignored
    let reads = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      yield archive;
      reads++;
      yield text('junk after the end');
      reads++;
    }
    expect(await readAll(source())).toEqual(basic);
    expect(reads).toBe(2);
  });

  it('reads the same from chunks of any size, and from a ReadableStream', async () => {
    const archive = fixture('gnu-posix.tar');
    const expected = await readAll(archive);
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let offset = 0; offset < archive.length; offset += size)
          yield archive.slice(offset, offset + size);
      }
      expect(await readAll(chunks())).toEqual(expected);
    }
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(archive.slice(0, 1000));
        controller.enqueue(archive.slice(1000));
        controller.close();
      },
    });
    expect(await readAll(stream)).toEqual(expected);
  });

  it('hands out content as views of the input, not copies, and as plain Uint8Arrays', async () => {
    const archive = await collectBytes(
      writeTar([{ name: 'f', type: 'file', content: new Uint8Array(100_000).fill(9) }]),
    );
    for await (const entry of readTar(archive)) {
      for await (const chunk of entry.content) {
        expect(chunk.buffer).toBe(archive.buffer);
        expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
      }
    }
    for await (const entry of readTar(Buffer.from(archive))) {
      for await (const chunk of entry.content)
        expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
    }
  });

  it('skips unread content, and refuses content read late or twice', async () => {
    const archive = await collectBytes(
      writeTar([
        { name: 'a', type: 'file', content: text('aaa') },
        { name: 'b', type: 'file', content: text('bbb') },
        { name: 'c', type: 'file' },
      ]),
    );
    const entries: TarEntry[] = [];
    for await (const entry of readTar(archive)) entries.push(entry);
    expect(entries.map((entry) => entry.name)).toEqual(['a', 'b', 'c']);
    const late = await collectBytes(entries[0]?.content as AsyncIterable<Uint8Array>).catch(
      (error: unknown) => error,
    );
    expect(StevedoreError.is(late, 'ERR_TAR_CONTENT_CONSUMED')).toBe(true);
    expect(await collectBytes(entries[2]?.content as AsyncIterable<Uint8Array>)).toEqual(new Uint8Array(0));

    for await (const entry of readTar(archive)) {
      if (entry.name !== 'a') continue;
      const iterator = entry.content[Symbol.asyncIterator]();
      expect(await iterator.next()).toEqual({ done: false, value: text('aaa') });
      const twice = await collectBytes(entry.content).catch((error: unknown) => error);
      expect(StevedoreError.is(twice, 'ERR_TAR_CONTENT_CONSUMED')).toBe(true);
    }
  });

  it('stops reading when the loop breaks, and cancels a stream source', async () => {
    let cancelled = false;
    const archive = fixture('gnu-ustar.tar');
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(archive.slice(0, 512));
      },
      cancel() {
        cancelled = true;
      },
    });
    let first: TarEntry | undefined;
    for await (const entry of readTar(stream)) {
      first = entry;
      break;
    }
    expect(first?.name).toBe('root/');
    expect(cancelled).toBe(true);

    // content left behind by a loop that ended is gone, and says so
    const single = await collectBytes(writeTar([{ name: 'f', type: 'file', content: text('abc') }]));
    let file: TarEntry | undefined;
    for await (const entry of readTar(single)) {
      file = entry;
      break;
    }
    const late = await collectBytes(file?.content as AsyncIterable<Uint8Array>).catch(
      (error: unknown) => error,
    );
    expect(StevedoreError.is(late, 'ERR_TAR_CONTENT_CONSUMED')).toBe(true);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const archive = fixture('gnu-ustar.tar');
    const error = await (async () => {
      for await (const _ of readTar(archive, { signal: controller.signal }))
        controller.abort(new Error('stop'));
    })().catch((caught: unknown) => caught);
    expect(error).toEqual(new Error('stop'));
    await expect(readAll(42 as never)).rejects.toThrow(TypeError);
  });

  it('reads what tar-stream, an independent implementation, writes', async () => {
    const pack = tarStream.pack();
    pack.entry({ name: `a/${D150}/${F120}`, mode: 0o644, mtime: new Date(1_700_000_000_000) }, 'long');
    pack.entry({ name: 'link', type: 'symlink', linkname: T110, mtime: new Date(0) });
    pack.entry(
      { name: 'ünï', mode: 0o4755, uid: 5, gid: 6, uname: 'u', gname: 'g', mtime: new Date(0) },
      'x',
    );
    pack.finalize();
    const entries = await readAll(pack as unknown as AsyncIterable<Uint8Array>);
    expect(entries.map((entry) => [entry.name, entry.type, entry.mode, entry.linkname, entry.body])).toEqual([
      [`a/${D150}/${F120}`, 'file', 0o644, '', 'long'],
      ['link', 'symlink', 0o644, T110, ''], // tar-stream's default mode
      ['ünï', 'file', 0o4755, '', 'x'],
    ]);
    expect(entries[0]?.mtime).toBe(1_700_000_000);
    expect(entries[2]).toMatchObject({ uid: 5, gid: 6, uname: 'u', gname: 'g' });
  });
});
