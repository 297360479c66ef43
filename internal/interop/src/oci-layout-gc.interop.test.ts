// A layout collected by collectOciLayoutGarbage against umoci and skopeo: they read it as
// before, and umoci's own gc keeps the same blobs.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assembleIndex } from '@stevedore/image';
import { collectOciLayoutGarbage, deleteFromOciLayout, writeOciLayout } from '@stevedore/transport-oci';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { needPeers } from './peers.ts';

const run = promisify(execFile);

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-gc-interop-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function blobsOf(layout: string): Promise<string[]> {
  return (await readdir(join(layout, 'blobs', 'sha256'))).sort();
}

/** A layout with an image (v1), an index of two platforms (multi) and an image deleted from it (old). */
async function layoutWithGarbage(): Promise<string> {
  const layout = join(root, 'layout');
  await writeOciLayout(layout, await smallImage('interop v1'), { tag: 'v1' });
  const index = await assembleIndex([
    await smallImage('interop amd', 'amd64'),
    await smallImage('interop arm', 'arm64'),
  ]);
  await writeOciLayout(layout, index, { tag: 'multi' });
  await writeOciLayout(layout, await smallImage('interop old'), { tag: 'old' });
  await deleteFromOciLayout(layout, { tag: 'old' });
  return layout;
}

describe('a layout after collectOciLayoutGarbage', () => {
  it('keeps the blobs umoci gc keeps', async (context) => {
    if (!(await needPeers(context, 'umoci'))) return;
    const ours = await layoutWithGarbage();
    const theirs = join(root, 'theirs');
    await cp(ours, theirs, { recursive: true });
    const result = await collectOciLayoutGarbage(ours);
    expect(result.removed).toHaveLength(3);
    await run('umoci', ['gc', '--layout', theirs]);
    expect(await blobsOf(ours)).toEqual(await blobsOf(theirs));
  });

  it('is read by umoci and skopeo', async (context) => {
    if (!(await needPeers(context, 'umoci', 'skopeo'))) return;
    const layout = await layoutWithGarbage();
    await collectOciLayoutGarbage(layout);
    const listed = (await run('umoci', ['ls', '--layout', layout])).stdout.split('\n').filter(Boolean).sort();
    expect(listed).toEqual(['multi', 'v1']);
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, join(root, 'bundle')]);
    expect(await readdir(join(root, 'bundle', 'rootfs'))).toEqual(['interop v1']);
    await run('skopeo', ['copy', '--all', `oci:${layout}:multi`, `oci:${join(root, 'copied')}:multi`]);
    const inspected = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${layout}:multi`])).stdout);
    expect(inspected.manifests).toHaveLength(2);
  });
});
