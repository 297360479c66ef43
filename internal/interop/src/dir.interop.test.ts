// The dir: format against skopeo, both ways, for an image and an index.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { assembleIndex, memoryBlobSink } from '@stevedore/image';
import { readDir, readOciLayout, writeDir, writeOciLayout } from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-dir-interop-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const entries = (name: string) => [
  [{ name, type: 'file' as const, content: new TextEncoder().encode(name) }],
];

it('skopeo reads what we write to dir:, and we read what it writes, digests kept', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const amd = await buildImage(entries('amd'), { cmd: ['/amd'] }, { blobSink: memoryBlobSink });
  const arm = await buildImage(
    entries('arm'),
    { cmd: ['/arm'] },
    { blobSink: memoryBlobSink, platform: 'linux/arm64' },
  );
  const index = await assembleIndex([amd, arm]);

  // ours → skopeo: dir: to an OCI layout, every digest the same
  const ours = join(scratch, 'ours');
  await writeDir(ours, index);
  const layout = join(scratch, 'layout');
  await runPeer('skopeo', ['copy', '--all', `dir:${ours}`, `oci:${layout}:copied`]);
  expect((await readOciLayout(layout, { tag: 'copied' })).manifest.digest.equals(index.manifest.digest)).toBe(
    true,
  );
  const inspected = JSON.parse(await runPeer('skopeo', ['inspect', '--raw', `dir:${ours}`]));
  expect(inspected.manifests).toHaveLength(2);

  // skopeo → ours: an OCI layout of ours copied to dir: by skopeo, read back
  const single = join(scratch, 'single-layout');
  await writeOciLayout(single, amd, { tag: 'amd' });
  const theirs = join(scratch, 'theirs');
  await runPeer('skopeo', ['copy', `oci:${single}:amd`, `dir:${theirs}`]);
  const read = await readDir(theirs);
  expect(read.manifest.digest.equals(amd.manifest.digest)).toBe(true);
  expect(read.kind === 'image' && read.config.config?.Cmd).toEqual(['/amd']);

  const theirIndex = join(scratch, 'their-index');
  await runPeer('skopeo', ['copy', '--all', `oci:${layout}:copied`, `dir:${theirIndex}`]);
  const readIndex = await readDir(theirIndex);
  expect(readIndex.kind).toBe('index');
  expect(readIndex.manifest.digest.equals(index.manifest.digest)).toBe(true);
});
