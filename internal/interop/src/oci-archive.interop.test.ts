// oci-archive: against skopeo, both ways, digests kept.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { memoryBlobSink } from '@stevedore/image';
import { readOciArchive, readOciLayout, writeOciArchive, writeOciLayout } from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-oci-archive-interop-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it('skopeo reads our oci-archive, and we read the one it writes', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const image = await buildImage(
    [[{ name: 'etc/motd', type: 'file', content: new TextEncoder().encode('hi\n') }]],
    { cmd: ['cat', '/etc/motd'] },
    { blobSink: memoryBlobSink },
  );
  const ours = join(scratch, 'ours.tar');
  await writeOciArchive(ours, image, { tag: 'v1' });
  const inspected = JSON.parse(await runPeer('skopeo', ['inspect', `oci-archive:${ours}:v1`]));
  expect(inspected.Digest).toBe(image.manifest.digest.toString());
  const layout = join(scratch, 'layout');
  await runPeer('skopeo', ['copy', `oci-archive:${ours}:v1`, `oci:${layout}:v1`]);
  expect((await readOciLayout(layout, { tag: 'v1' })).manifest.digest.equals(image.manifest.digest)).toBe(
    true,
  );

  const source = join(scratch, 'source');
  await writeOciLayout(source, image, { tag: 'src' });
  const theirs = join(scratch, 'theirs.tar');
  await runPeer('skopeo', ['copy', `oci:${source}:src`, `oci-archive:${theirs}:copied`]);
  const read = await readOciArchive(theirs, { tag: 'copied' });
  expect(read.manifest.digest.equals(image.manifest.digest)).toBe(true);
  expect(read.kind === 'image' && read.config.config?.Cmd).toEqual(['cat', '/etc/motd']);
});
