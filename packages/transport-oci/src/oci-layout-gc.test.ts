import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assembleImage,
  assembleIndex,
  type Image,
  type ImageNode,
  imageBlobs,
  imageLayers,
} from '@stevedore/image';
import { manifestDescriptor } from '@stevedore/manifest';
import { fakeLayer, filesUnder, smallImage, testConfig } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blobPath,
  collectOciLayoutGarbage,
  deleteFromOciLayout,
  readOciLayout,
  writeOciLayout,
} from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-gc-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const digestOf = (node: ImageNode) => node.manifest.digest.toString();

/** The digests of every blob an image holds: its manifest, config and layers. */
function blobsOf(image: Image): string[] {
  return [digestOf(image), ...imageBlobs(image).map((blob) => blob.digest)];
}

/** The digests of the blobs in the layout. */
async function blobsInLayout(): Promise<string[]> {
  return (await filesUnder(join(root, 'blobs'))).map((name) => name.replace('/', ':')).sort();
}

/** Sets every blob file back an hour, as blobs a copy left long ago. */
async function ageBlobs(): Promise<void> {
  const old = new Date(Date.now() - 3_600_000);
  for (const digest of await blobsInLayout()) await utimes(blobPath(root, digest), old, old);
}

/** An image whose `subject` is `subject`, a signature or SBOM as oras would store it. */
async function referrerOf(subject: ImageNode, kind: string): Promise<Image> {
  return assembleImage(testConfig, [await fakeLayer(`${kind} of ${digestOf(subject)}`)], {
    subject: manifestDescriptor(subject.manifest),
  });
}

/** Writes `node` into the layout and takes it out of index.json again: only its blobs stay. */
async function writeUnlisted(node: ImageNode): Promise<void> {
  await writeOciLayout(root, node);
  await deleteFromOciLayout(root, { digest: digestOf(node) });
}

describe('collectOciLayoutGarbage', () => {
  it("removes an untagged image's blobs, keeps what the other tags reach, and leaves a readable layout", async () => {
    const kept = await smallImage('kept');
    const dropped = await smallImage('dropped');
    await writeOciLayout(root, kept, { tag: 'v1' });
    await writeOciLayout(root, dropped, { tag: 'v2' });
    await deleteFromOciLayout(root, { tag: 'v2' });
    await ageBlobs();
    const sizes = new Map<string, number>();
    for (const digest of blobsOf(dropped)) sizes.set(digest, (await stat(blobPath(root, digest))).size);
    const indexBefore = await readFile(join(root, 'index.json'));

    const result = await collectOciLayoutGarbage(root);

    expect(result.removed).toEqual(
      blobsOf(dropped)
        .sort()
        .map((digest) => ({ digest, size: sizes.get(digest) })),
    );
    expect(result.bytesFreed).toBe([...sizes.values()].reduce((sum, size) => sum + size, 0));
    expect(result.kept).toBe(3);
    expect(result.missing).toEqual([]);
    expect(await blobsInLayout()).toEqual(blobsOf(kept).sort());
    expect(await readFile(join(root, 'index.json'))).toEqual(indexBefore);
    const read = await readOciLayout(root, { tag: 'v1' });
    expect(digestOf(read)).toBe(digestOf(kept));

    const again = await collectOciLayoutGarbage(root);
    expect(again).toEqual({ removed: [], kept: 3, bytesFreed: 0, missing: [] });
  });

  it('in a dry run reports the same blobs and removes none', async () => {
    const dropped = await smallImage('dropped');
    await writeOciLayout(root, await smallImage('kept'), { tag: 'v1' });
    await writeUnlisted(dropped);
    await ageBlobs();
    const before = await blobsInLayout();
    const dry = await collectOciLayoutGarbage(root, { dryRun: true });
    expect(dry.removed.map((blob) => blob.digest)).toEqual(blobsOf(dropped).sort());
    expect(dry.bytesFreed).toBeGreaterThan(0);
    expect(dry.kept).toBe(3);
    expect(await blobsInLayout()).toEqual(before);
    const real = await collectOciLayoutGarbage(root);
    expect(real.removed).toEqual(dry.removed);
  });

  it('keeps every platform an index reaches, and blobs shared with what goes', async () => {
    const amd = await smallImage('amd', 'amd64');
    const arm = await smallImage('arm', 'arm64', 'v8');
    const index = await assembleIndex([amd, arm]);
    await writeOciLayout(root, index, { tag: 'multi' });
    // An image sharing amd's layer and nothing else listed.
    const sharing = await assembleImage({ ...testConfig, architecture: 's390x' }, imageLayers(amd));
    await writeUnlisted(sharing);
    await ageBlobs();
    const result = await collectOciLayoutGarbage(root);
    expect(result.removed.map((blob) => blob.digest).sort()).toEqual(
      [digestOf(sharing), sharing.manifest.json.config.digest].sort(),
    );
    expect(await blobsInLayout()).toEqual([digestOf(index), ...blobsOf(amd), ...blobsOf(arm)].sort());
    const read = await readOciLayout(root, { tag: 'multi' });
    expect(read.kind === 'index' && read.children.map(digestOf)).toEqual([digestOf(amd), digestOf(arm)]);
  });

  it('keeps the referrers of what it keeps (and theirs), unlisted or not, and drops those of what goes', async () => {
    const image = await smallImage('image');
    const dropped = await smallImage('dropped');
    await writeOciLayout(root, image, { tag: 'v1' });
    const signature = await referrerOf(image, 'signature');
    const signatureOfSignature = await referrerOf(signature, 'signature');
    const orphan = await referrerOf(dropped, 'sbom');
    await writeUnlisted(dropped);
    await writeUnlisted(signature);
    await writeUnlisted(signatureOfSignature);
    await writeUnlisted(orphan);
    await ageBlobs();
    const result = await collectOciLayoutGarbage(root);
    expect(result.removed.map((blob) => blob.digest)).toEqual(
      [...blobsOf(dropped), ...blobsOf(orphan)].sort(),
    );
    expect(await blobsInLayout()).toEqual(
      [...blobsOf(image), ...blobsOf(signature), ...blobsOf(signatureOfSignature)].sort(),
    );
  });

  it('keeps a subject a listed referrer names, and reports a listed manifest the layout lacks', async () => {
    const image = await smallImage('image');
    const signature = await referrerOf(image, 'signature');
    await writeUnlisted(image);
    await writeOciLayout(root, signature, { tag: 'signature' });
    const amd = await smallImage('amd', 'amd64');
    const arm = await smallImage('arm', 'arm64');
    const index = await assembleIndex([amd, arm]);
    await writeOciLayout(root, index, { tag: 'multi' });
    await rm(blobPath(root, digestOf(arm))); // an index kept without one of its platforms
    await ageBlobs();
    const result = await collectOciLayoutGarbage(root);
    expect(result.missing).toEqual([digestOf(arm)]);
    // arm's config and layer are reached by nothing the layout holds.
    expect(result.removed.map((blob) => blob.digest)).toEqual(
      imageBlobs(arm)
        .map((blob) => blob.digest)
        .sort(),
    );
    expect(await blobsInLayout()).toEqual(
      [...blobsOf(image), ...blobsOf(signature), digestOf(index), ...blobsOf(amd)].sort(),
    );
  });

  it("leaves writers' temporary files, files not named as digests, and blobs newer than minimumAge", async () => {
    await writeOciLayout(root, await smallImage('kept'), { tag: 'v1' });
    const recent = await smallImage('recent');
    const old = await smallImage('old');
    await writeUnlisted(old);
    await ageBlobs();
    await writeUnlisted(recent); // as a copy in flight, not yet in index.json
    const temporary = join(root, '.tmp-0123');
    await writeFile(temporary, 'half a blob');
    const notes = join(root, 'blobs', 'sha256', 'README');
    await writeFile(notes, 'not a blob');
    await utimes(notes, new Date(0), new Date(0));
    await mkdir(join(root, 'blobs', 'sha512'));

    const result = await collectOciLayoutGarbage(root, { minimumAge: 60_000 });
    expect(result.removed.map((blob) => blob.digest)).toEqual(blobsOf(old).sort());
    expect(await readFile(temporary, 'utf8')).toBe('half a blob');
    expect(await readFile(notes, 'utf8')).toBe('not a blob');
    expect((await stat(join(root, 'blobs', 'sha512'))).isDirectory()).toBe(true);
    for (const digest of blobsOf(recent)) expect((await stat(blobPath(root, digest))).isFile()).toBe(true);

    // Without a grace period, they go.
    const later = await collectOciLayoutGarbage(root);
    expect(later.removed.map((blob) => blob.digest)).toEqual(blobsOf(recent).sort());
    await expect(collectOciLayoutGarbage(root, { minimumAge: -1 })).rejects.toThrow(RangeError);
  });

  it('fails with nothing removed for a manifest that is not its digest, a non-layout, or an abort', async () => {
    const kept = await smallImage('kept');
    await writeOciLayout(root, kept, { tag: 'v1' });
    await writeUnlisted(await smallImage('dropped'));
    await ageBlobs();
    const before = await blobsInLayout();

    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(collectOciLayoutGarbage(root, { signal: aborted.signal })).rejects.toThrow('stop');
    expect(await blobsInLayout()).toEqual(before);

    const manifestFile = blobPath(root, digestOf(kept));
    const bytes = await readFile(manifestFile);
    bytes[bytes.length - 2] = 0x20;
    await writeFile(manifestFile, bytes);
    await expect(collectOciLayoutGarbage(root)).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(await blobsInLayout()).toEqual(before);

    await expect(collectOciLayoutGarbage(join(root, 'blobs'))).rejects.toMatchObject({
      code: 'ERR_LAYOUT_INVALID',
    });
  });
});
