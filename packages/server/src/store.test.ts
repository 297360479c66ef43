import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes, computeDigest } from '@stevedore/digest';
import { describe, expect, it } from 'vitest';
import { openFilesystemStore } from './filesystem-store.ts';
import { createMemoryStore } from './memory-store.ts';
import type { RegistryStore } from './store.ts';

const text = (value: string) => new TextEncoder().encode(value);
async function* chunks(...values: string[]) {
  for (const value of values) yield text(value);
}
const read = async (bytes: AsyncIterable<Uint8Array>) => new TextDecoder().decode(await collectBytes(bytes));

const stores: Array<[string, () => Promise<RegistryStore>]> = [
  ['memory', async () => createMemoryStore()],
  ['filesystem', async () => openFilesystemStore(await mkdtemp(join(tmpdir(), 'stevedore-store-')))],
];

describe.each(stores)('the %s store', (_name, open) => {
  it('turns an upload into a blob, readable whole and by range', async () => {
    const store = await open();
    const session = await store.createUpload('team/app');
    expect(session).toMatchObject({ repository: 'team/app', size: 0 });
    expect(await store.appendUpload(session.id, 0, chunks('hello, ', 'wor'))).toBe(10);
    expect(await store.appendUpload(session.id, 10, chunks('ld'))).toBe(12);
    await expect(store.appendUpload(session.id, 5, chunks('x'))).rejects.toMatchObject({
      code: 'ERR_STORE_OFFSET',
      expected: 12,
      actual: 5,
    });
    expect((await store.uploadSession(session.id))?.size).toBe(12);
    expect(await read(store.readUpload(session.id))).toBe('hello, world');
    const digest = (await computeDigest(text('hello, world'))).toString();
    await store.commitUpload(session.id, digest);
    expect(await store.uploadSession(session.id)).toBeUndefined();
    expect(await store.blobInfo(digest)).toMatchObject({ size: 12 });
    expect(await read(store.readBlob(digest))).toBe('hello, world');
    expect(await read(store.readBlob(digest, { start: 7, end: 12 }))).toBe('world');
    const listed = [];
    for await (const blob of store.listBlobs()) listed.push(blob.digest);
    expect(listed).toEqual([digest]);
    await store.deleteBlob(digest);
    expect(await store.blobInfo(digest)).toBeUndefined();
    await expect(read(store.readBlob(digest))).rejects.toMatchObject({ code: 'ERR_STORE_NOT_FOUND' });
  });

  it('lists and cancels upload sessions', async () => {
    const store = await open();
    const a = await store.createUpload('a');
    const b = await store.createUpload('b');
    const ids = [];
    for await (const session of store.listUploads()) ids.push(session.id);
    expect(ids.sort()).toEqual([a.id, b.id].sort());
    await store.deleteUpload(a.id);
    expect(await store.uploadSession(a.id)).toBeUndefined();
    expect(await store.uploadSession('not-a-session')).toBeUndefined();
    await expect(store.appendUpload(a.id, 0, chunks('x'))).rejects.toMatchObject({
      code: 'ERR_STORE_NOT_FOUND',
    });
  });

  it('keeps links, manifests, tags and referrers per repository', async () => {
    const store = await open();
    const manifest = text('{"schemaVersion":2}');
    const digest = (await computeDigest(manifest)).toString();
    await store.putBlob(digest, manifest);
    await store.linkManifest('team/app', digest, 'application/vnd.oci.image.manifest.v1+json');
    await store.setTag('team/app', 'v2', digest);
    await store.setTag('team/app', 'latest', digest);
    await store.setTag('team/app', 'V1', digest);
    await store.linkBlob('team', digest);

    expect(await store.manifestMediaType('team/app', digest)).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(await store.manifestMediaType('team', digest)).toBeUndefined();
    expect(await store.hasBlobLink('team', digest)).toBe(true);
    expect(await store.hasBlobLink('team/app', digest)).toBe(false);
    expect(await store.getTag('team/app', 'v2')).toBe(digest);
    expect(await store.listTags('team/app')).toEqual(['V1', 'latest', 'v2']);
    expect(await store.listTags('nothing')).toEqual([]);
    expect(await store.listRepositories()).toEqual(['team', 'team/app']);

    const subject = `sha256:${'a'.repeat(64)}`;
    const referrer = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: manifest.byteLength,
    };
    await store.addReferrer('team/app', subject, referrer);
    expect(await store.listReferrers('team/app', subject)).toEqual([referrer]);
    await store.removeReferrer('team/app', subject, digest);
    expect(await store.listReferrers('team/app', subject)).toEqual([]);

    await store.deleteTag('team/app', 'v2');
    expect(await store.getTag('team/app', 'v2')).toBeUndefined();
    await store.unlinkBlob('team', digest);
    expect(await store.listRepositories()).toEqual(['team/app']);
    const manifests = [];
    for await (const found of store.listManifests('team/app')) manifests.push(found);
    expect(manifests).toEqual([{ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }]);
    await store.unlinkManifest('team/app', digest);
    expect(await store.manifestMediaType('team/app', digest)).toBeUndefined();
  });
});

describe('the filesystem store', () => {
  it('keeps upload sessions across a restart and clears half-written files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stevedore-store-'));
    const first = await openFilesystemStore(root);
    const session = await first.createUpload('app');
    await first.appendUpload(session.id, 0, chunks('part one'));
    await writeFile(join(root, 'tmp', 'left-by-a-crash'), 'junk');

    const second = await openFilesystemStore(root);
    expect(await second.uploadSession(session.id)).toMatchObject({ repository: 'app', size: 8 });
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('drops at open the upload folders a crash left without a session or data', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stevedore-store-'));
    const first = await openFilesystemStore(root);
    const kept = await first.createUpload('app');
    const noSession = await first.createUpload('app');
    const noData = await first.createUpload('app');
    await rm(join(root, 'uploads', noSession.id, 'session.json'));
    await rm(join(root, 'uploads', noData.id, 'data'));
    await mkdir(join(root, 'uploads', 'not-a-session'));

    await openFilesystemStore(root);
    expect(await readdir(join(root, 'uploads'))).toEqual([kept.id]);
  });

  it('lists only files named by a digest, so a foreign file cannot stop garbage collection', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stevedore-store-'));
    const store = await openFilesystemStore(root);
    const bytes = text('a blob');
    const digest = (await computeDigest(bytes)).toString();
    await store.putBlob(digest, bytes);
    await store.linkBlob('app', digest);
    const hex = digest.slice('sha256:'.length);
    await writeFile(join(root, 'blobs', 'sha256', hex.slice(0, 2), `${hex}.orig`), 'backup');
    await writeFile(join(root, 'blobs', 'sha256', hex.slice(0, 2), 'notes'), 'text');
    await writeFile(join(root, 'repositories', 'app', '_layers', 'sha256', 'notes'), '');

    const blobs = [];
    for await (const blob of store.listBlobs()) blobs.push(blob.digest);
    const links = [];
    for await (const link of store.listBlobLinks('app')) links.push(link);
    expect(blobs).toEqual([digest]);
    expect(links).toEqual([digest]);
  });

  it('refuses names that would leave its directory', async () => {
    const store = await openFilesystemStore(await mkdtemp(join(tmpdir(), 'stevedore-store-')));
    await expect(store.getTag('../etc', 'x')).rejects.toThrow(TypeError);
    await expect(store.getTag('app', '../x')).rejects.toThrow(TypeError);
    await expect(store.blobInfo('sha256:../../x')).rejects.toThrow(TypeError);
    expect(await store.uploadSession('../../etc')).toBeUndefined();
  });
});
