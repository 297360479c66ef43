import { type FileHandle, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '@stevedore/digest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { combineBlobSources, memoryBlobSource } from './blob-source.ts';
import {
  copyVerifiedFile,
  createAtomicFileWriter,
  createFileBlobWriter,
  fileBlobSource,
  openFileAppender,
  readFileChunks,
  readFileReusing,
} from './node.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stevedore-node-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) {
    expect(Buffer.isBuffer(chunk)).toBe(false);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

describe('createFileBlobWriter', () => {
  it('queues writes in order and renames the file to its final name on commit', async () => {
    const writer = await createFileBlobWriter({
      temporaryDirectory: dir,
      pathOf: (digest) => join(dir, 'blobs', digest.replace(':', '-')),
      maxQueued: 10,
    });
    const pieces = Array.from({ length: 50 }, (_, index) => new Uint8Array(7).fill(index));
    for (const piece of pieces) await writer.write(piece);
    const source = await writer.commit('sha256:abc');
    const expected = new Uint8Array(Buffer.concat(pieces));
    expect(new Uint8Array(await readFile(join(dir, 'blobs', 'sha256-abc')))).toEqual(expected);
    const opened = await source.openBlob({ mediaType: 'x/y', digest: 'sha256:abc', size: expected.length });
    if (opened === undefined) throw new Error('not found');
    expect(await collect(opened)).toEqual(expected);
    expect(await source.openBlob({ mediaType: 'x/y', digest: 'sha256:other', size: 1 })).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['blobs']);
  });

  it('leaves nothing behind when aborted', async () => {
    const writer = await createFileBlobWriter({
      temporaryDirectory: dir,
      pathOf: (digest) => join(dir, digest),
    });
    await writer.write(new Uint8Array(100));
    await writer.abort();
    expect(await readdir(dir)).toEqual([]);
  });
});

/** Bytes that differ from one position to the next, so a misplaced chunk shows. */
const patterned = (length: number) => new Uint8Array(length).map((_, index) => (index * 7 + 3) % 251);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createAtomicFileWriter', () => {
  const temporaryFile = async () => {
    const [name] = await readdir(dir);
    if (name === undefined) throw new Error('no temporary file');
    return join(dir, name);
  };

  it('has every queued chunk on disk after flush, and writes over a position with writeAt', async () => {
    const file = await createAtomicFileWriter({ temporaryDirectory: dir, maxQueued: 16 });
    const pieces = Array.from({ length: 20 }, (_, index) => new Uint8Array(5).fill(index + 1));
    for (const piece of pieces) await file.write(piece);
    await file.flush();
    const expected = new Uint8Array(Buffer.concat(pieces));
    expect(new Uint8Array(await readFile(await temporaryFile()))).toEqual(expected);
    await file.write(new Uint8Array([0xaa, 0xbb]));
    await file.writeAt(3, new Uint8Array([9, 9, 9]));
    await file.commit(join(dir, 'out', 'file'));
    expected.set([9, 9, 9], 3);
    expect(new Uint8Array(await readFile(join(dir, 'out', 'file')))).toEqual(
      new Uint8Array([...expected, 0xaa, 0xbb]),
    );
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('reports a failed write on flush, write and commit, and removes the file', async () => {
    const file = await createAtomicFileWriter({ temporaryDirectory: dir });
    await file.write(new Uint8Array([1, 2, 3]));
    const probe = await open(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    await rm(join(dir, 'probe'));
    const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const write = vi.spyOn(prototype, 'write').mockRejectedValueOnce(full);
    try {
      await expect(file.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
      await expect(file.write(new Uint8Array([4]))).rejects.toMatchObject({ code: 'ENOSPC' });
      await expect(file.commit(join(dir, 'out'))).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      write.mockRestore();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('copies each chunk before `write` resolves, and writes whole 1 MiB buffers', async () => {
    const file = await createAtomicFileWriter({ temporaryDirectory: dir });
    const probe = await open(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    await rm(join(dir, 'probe'));
    const write = vi.spyOn(prototype, 'write');
    const expected: Buffer[] = [];
    const chunk = new Uint8Array(64 * 1024); // one buffer, reused for every chunk, as a socket reader's
    try {
      for (let index = 0; index < 50; index++) {
        chunk.fill(index);
        expected.push(Buffer.from(chunk));
        await file.write(chunk);
      }
      await file.commit(join(dir, 'out'));
      // 3.125 MiB: three full buffers and the rest.
      expect(write.mock.calls.map((call) => call[2])).toEqual([1048576, 1048576, 1048576, 131072]);
    } finally {
      write.mockRestore();
    }
    expect(Buffer.compare(await readFile(join(dir, 'out')), Buffer.concat(expected))).toBe(0);
  });
});

describe('openFileAppender', () => {
  it('appends after what the file holds, copying each chunk before `write` resolves', async () => {
    const path = join(dir, 'upload');
    await writeFile(path, 'head:');
    const file = await openFileAppender(path);
    const chunk = new Uint8Array(700 * 1024); // reused for every chunk
    const expected: Buffer[] = [Buffer.from('head:')];
    for (let index = 0; index < 4; index++) {
      chunk.fill(index + 1);
      expected.push(Buffer.from(chunk));
      await file.write(chunk);
    }
    await file.close();
    expect(Buffer.compare(await readFile(path), Buffer.concat(expected))).toBe(0);
    const again = await openFileAppender(path);
    await again.write(new Uint8Array([7]));
    await again.close();
    expect((await readFile(path)).byteLength).toBe(5 + 4 * 700 * 1024 + 1);
  });
});

describe('readFileReusing', () => {
  it('reads into the buffers of a given ring, file after file', async () => {
    const ring = [new Uint8Array(1000), new Uint8Array(1000)];
    for (const size of [2500, 999]) {
      const bytes = patterned(size);
      const path = join(dir, `ring-${size}`);
      await writeFile(path, bytes);
      const copies: Uint8Array[] = [];
      for await (const { chunk, slot } of readFileReusing(path, { ring, release: async () => {} })) {
        expect(chunk.buffer).toBe((ring[slot] as Uint8Array).buffer);
        copies.push(chunk.slice());
      }
      expect(Buffer.compare(Buffer.concat(copies), bytes)).toBe(0);
    }
  });

  it('does not read into a buffer again before its release resolves', async () => {
    const bytes = patterned(40 * 1024 + 100);
    const path = join(dir, 'file');
    await writeFile(path, bytes);
    const held = new Map<number, Promise<void>>();
    const released: number[] = [];
    const ring = readFileReusing(path, {
      buffers: 2,
      chunkSize: 4096,
      release: async (slot) => {
        released.push(slot);
        await held.get(slot);
      },
    });
    const copies: Uint8Array[] = [];

    const first = await ring.next();
    if (first.done) throw new Error('no chunk');
    expect(first.value.slot).toBe(0);
    const firstChunk = first.value.chunk;
    copies.push(firstChunk.slice());
    // The consumer is not done with slot 0 yet: chunk 2 must wait to be read into it.
    let finishWriting = () => {};
    held.set(
      0,
      new Promise((resolve) => {
        finishWriting = resolve;
      }),
    );
    const second = await ring.next();
    if (second.done) throw new Error('no chunk');
    expect(second.value.slot).toBe(1);
    copies.push(second.value.chunk.slice());
    let thirdArrived = false;
    const third = ring.next().then((result) => {
      thirdArrived = true;
      return result;
    });
    await sleep(50);
    expect(thirdArrived).toBe(false);
    expect(released).toEqual([0, 1, 0]);
    expect(firstChunk).toEqual(bytes.subarray(0, 4096)); // not read into yet
    held.delete(0);
    finishWriting();
    const thirdResult = await third;
    if (thirdResult.done) throw new Error('no chunk');
    expect(thirdResult.value.slot).toBe(0);
    copies.push(thirdResult.value.chunk.slice());
    for await (const { chunk } of ring) copies.push(chunk.slice());

    expect(copies.map((chunk) => chunk.byteLength)).toEqual([...Array(10).fill(4096), 100]);
    expect(new Uint8Array(Buffer.concat(copies))).toEqual(bytes);
  });
});

describe('readFileChunks and fileBlobSource', () => {
  it('reads files as Uint8Array chunks of the size asked', async () => {
    const writer = await createFileBlobWriter({ temporaryDirectory: dir, pathOf: () => join(dir, 'file') });
    await writer.write(new Uint8Array(10_000).fill(3));
    await writer.commit('sha256:x');
    const chunks: number[] = [];
    for await (const chunk of readFileChunks(join(dir, 'file'), { chunkSize: 4096 }))
      chunks.push(chunk.length);
    expect(chunks).toEqual([4096, 4096, 1808]);
    const source = fileBlobSource({ 'sha256:x': join(dir, 'file') });
    const opened = await source.openBlob({ mediaType: 'a/b', digest: 'sha256:x', size: 0 });
    if (opened === undefined) throw new Error('not found');
    expect((await collect(opened)).length).toBe(10_000);
  });

  it('reads a range through two buffers in turn when the chunks are transient', async () => {
    const bytes = patterned(20_000);
    const path = join(dir, 'transient');
    await writeFile(path, bytes);
    for (const [start, length] of [
      [0, undefined],
      [1000, 9000],
      [19_999, 5],
      [3, 0],
    ] as const) {
      const copies: Uint8Array[] = [];
      const buffers = new Set<ArrayBufferLike>();
      const options = {
        chunkSize: 4096,
        start,
        transientChunks: true,
        ...(length !== undefined && { length }),
      };
      for await (const chunk of readFileChunks(path, options)) {
        buffers.add(chunk.buffer);
        copies.push(chunk.slice()); // done with it before asking for the next
      }
      const end = length === undefined ? bytes.length : Math.min(bytes.length, start + length);
      expect(Buffer.compare(Buffer.concat(copies), bytes.subarray(start, end))).toBe(0);
      expect(buffers.size).toBeLessThanOrEqual(2);
    }
  });
});

describe('copyVerifiedFile', () => {
  const bytes = new Uint8Array(2_500_000).map((_, index) => index % 251);
  const descriptorOf = async (content: Uint8Array) => ({
    mediaType: 'application/octet-stream',
    digest: (await computeDigest(content)).toString(),
    size: content.length,
  });

  it('copies, verifies (reporting the bytes checked) and renames into place', async () => {
    const from = join(dir, 'from');
    await writeFile(from, bytes);
    const to = join(dir, 'blobs', 'sha256', 'x');
    const seen: number[] = [];
    await copyVerifiedFile(from, to, await descriptorOf(bytes), {
      temporaryDirectory: dir,
      onBytes: (count) => seen.push(count),
    });
    expect(new Uint8Array(await readFile(to))).toEqual(bytes);
    expect(seen).toEqual([1_048_576, 2_097_152, 2_500_000]);
    expect((await readdir(dir)).sort()).toEqual(['blobs', 'from']);
  });

  it('copies a file of more chunks than buffers byte for byte', async () => {
    const big = patterned(6 * 1024 * 1024 + 12_345);
    const from = join(dir, 'big');
    await writeFile(from, big);
    const to = join(dir, 'blobs', 'big');
    let reported = 0;
    await copyVerifiedFile(from, to, await descriptorOf(big), {
      temporaryDirectory: dir,
      onBytes: (count) => {
        reported = count;
      },
    });
    expect(Buffer.compare(await readFile(to), big)).toBe(0);
    expect(reported).toBe(big.length);
    expect((await readdir(dir)).sort()).toEqual(['big', 'blobs']);
  });

  it('leaves nothing when the file is not the blob, or is shorter', async () => {
    const from = join(dir, 'from');
    await writeFile(from, bytes);
    const to = join(dir, 'to');
    const other = bytes.slice();
    other[2_000_000] = 0xff;
    await expect(
      copyVerifiedFile(from, to, await descriptorOf(other), { temporaryDirectory: dir }),
    ).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    const longer = { ...(await descriptorOf(bytes)), size: bytes.length + 1 };
    await expect(copyVerifiedFile(from, to, longer, { temporaryDirectory: dir })).rejects.toMatchObject({
      code: 'ERR_SIZE_MISMATCH',
    });
    expect(await readdir(dir)).toEqual(['from']);
  });

  it('stops on abort and removes the copy', async () => {
    const from = join(dir, 'from');
    await writeFile(from, bytes);
    const controller = new AbortController();
    const copying = copyVerifiedFile(from, join(dir, 'to'), await descriptorOf(bytes), {
      temporaryDirectory: dir,
      signal: controller.signal,
      onBytes: () => controller.abort(new Error('stop')),
    });
    await expect(copying).rejects.toThrow('stop');
    expect(await readdir(dir)).toEqual(['from']);
  });
});

describe('fileBlobSource', () => {
  it('tells where each blob is, and combined sources do only when all of them can', async () => {
    const descriptor = { mediaType: 'x', digest: 'sha256:ab', size: 1 };
    const files = fileBlobSource({ 'sha256:ab': '/somewhere/ab' });
    expect(await files.fileOf?.(descriptor)).toBe('/somewhere/ab');
    const both = combineBlobSources(fileBlobSource({}), files);
    expect(await both.fileOf?.(descriptor)).toBe('/somewhere/ab');
    expect(combineBlobSources(memoryBlobSource({}), files).fileOf).toBeUndefined();
  });
});
