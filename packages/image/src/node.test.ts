import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '@stevedore/digest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { combineBlobSources, memoryBlobSource } from './blob-source.ts';
import { copyVerifiedFile, createFileBlobWriter, fileBlobSource, readFileChunks } from './node.ts';

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
