// flatten(image) against umoci: unpacking the flattened image gives the tree umoci gets
// from applying the original layers (whiteouts, opaque directories, replaced hardlink
// targets and a file over a directory included).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TarEntryInput } from '@stevedore/archive';
import { buildImage } from '@stevedore/build';
import { imageLayers, memoryBlobSink } from '@stevedore/image';
import { flatten } from '@stevedore/mutate';
import { writeOciLayout } from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';
import { describeTree } from './tree.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-flatten-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const text = (value: string) => new TextEncoder().encode(value);
const file = (name: string, content: string, mode = 0o644): TarEntryInput => ({
  name,
  type: 'file',
  content: text(content),
  mode,
});
const dir = (name: string, mode = 0o755): TarEntryInput => ({ name, type: 'directory', mode });

const layers: TarEntryInput[][] = [
  [
    dir('etc'),
    file('etc/os-release', 'v1\n'),
    file('etc/passwd', 'root\n', 0o600),
    dir('var'),
    dir('var/cache'),
    file('var/cache/a', 'a'),
    file('var/cache/b', 'b'),
    dir('opt'),
    file('opt/tool', 'tool v1', 0o755),
    dir('home'),
    dir('home/user'),
    file('home/user/.profile', 'profile'),
    file('shared', 'shared content'),
  ],
  [
    { name: 'shared-link', type: 'hardlink', linkname: 'shared' },
    file('etc/os-release', 'v2\n'),
    file('var/cache/.wh..wh..opq', ''),
    file('var/cache/c', 'c'),
    file('opt/.wh.tool', ''),
    { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
  ],
  [
    file('shared', 'replaced'),
    file('home', 'home is a file now'),
    dir('opt/new', 0o700),
    file('opt/new/x', 'x'),
  ],
];

it('umoci unpacks flatten(image) to the tree it makes from the original layers', async (context) => {
  if (!(await needPeers(context, 'umoci'))) return;
  const image = await buildImage(layers, { cmd: ['/bin/sh'] }, { blobSink: memoryBlobSink });
  const flat = await flatten(image, { blobSink: memoryBlobSink });
  expect(imageLayers(flat)).toHaveLength(1);
  const layout = join(scratch, 'layout');
  await writeOciLayout(layout, image, { tag: 'layered' });
  await writeOciLayout(layout, flat, { tag: 'flat' });
  await runPeer('umoci', ['unpack', '--image', `${layout}:layered`, join(scratch, 'layered')]);
  await runPeer('umoci', ['unpack', '--image', `${layout}:flat`, join(scratch, 'flat')]);
  const expected = await describeTree(join(scratch, 'layered', 'rootfs'));
  expect(await describeTree(join(scratch, 'flat', 'rootfs'))).toEqual(expected);
  // the cases that matter are really there
  expect(Object.keys(expected)).toEqual(
    expect.arrayContaining(['var/cache/c', 'shared-link', 'home', 'opt/new/x']),
  );
  expect(expected['var/cache/a']).toBeUndefined();
  expect(expected['opt/tool']).toBeUndefined();
  expect(Buffer.from(expected['shared-link']?.content ?? '', 'base64').toString()).toBe('shared content');
});
