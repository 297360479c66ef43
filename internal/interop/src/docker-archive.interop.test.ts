// docker-archive: against skopeo, both ways.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { imageLayers, memoryBlobSink } from '@stevedore/image';
import {
  readDockerArchive,
  readOciLayout,
  writeDockerArchive,
  writeOciLayout,
} from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-docker-archive-interop-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const text = (value: string) => new TextEncoder().encode(value);

it('skopeo copies from our docker-archive, and we read the one it writes', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const image = await buildImage(
    [
      [{ name: 'etc/base', type: 'file', content: text('base\n') }],
      [{ name: 'app/run', type: 'file', content: text('#!/bin/sh\n'), mode: 0o755 }],
    ],
    { cmd: ['/app/run'] },
    { blobSink: memoryBlobSink },
  );
  const ours = join(scratch, 'ours.tar');
  await writeDockerArchive(ours, image, { tag: 'example/app:v1' });
  // skopeo finds the image by its RepoTag in manifest.json
  const inspected = JSON.parse(await runPeer('skopeo', ['inspect', `docker-archive:${ours}:example/app:v1`]));
  expect(inspected.Layers).toHaveLength(2);
  expect(inspected.Os).toBe('linux');
  const layout = join(scratch, 'from-archive');
  await runPeer('skopeo', ['copy', `docker-archive:${ours}`, `oci:${layout}:copied`]);
  const copied = await readOciLayout(layout, { tag: 'copied' });
  expect(copied.kind === 'image' && copied.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
  expect(copied.kind === 'image' && copied.config.config?.Cmd).toEqual(['/app/run']);

  const source = join(scratch, 'source');
  await writeOciLayout(source, image, { tag: 'src' });
  const theirs = join(scratch, 'theirs.tar');
  await runPeer('skopeo', ['copy', `oci:${source}:src`, `docker-archive:${theirs}:example/app:v2`]);
  const read = await readDockerArchive(theirs, { tag: 'example/app:v2' });
  expect(read.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
  expect(read.config.config?.Cmd).toEqual(['/app/run']);
  expect(imageLayers(read).map((layer) => layer.diffId)).toEqual(image.config.rootfs.diff_ids);
});
