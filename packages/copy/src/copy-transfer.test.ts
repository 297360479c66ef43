import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlobProgress, type Image, imageBlobs } from '@stevedore/image';
import { STATIC_CONTENT_TYPES, STATIC_NGINX_CONF } from '@stevedore/transport-oci';
import { filesUnder, leftovers, multiChunkImage, reusingBlobSource } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CopyOptions, copy, readSource } from './index.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-copy-transfer-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// Three layers of 3 MiB: each moves in several 1 MiB reads from the source layout.
const LAYER_BYTES = 3 * 1024 * 1024;

const destinations = {
  oci: (dir: string) => `oci:${join(dir, 'layout')}:v1`,
  'oci-archive': (dir: string) => `oci-archive:${join(dir, 'image.tar')}:v1`,
  'docker-archive': (dir: string) => `docker-archive:${join(dir, 'docker.tar')}:app:v1`,
  dir: (dir: string) => `dir:${join(dir, 'dir')}`,
  static: (dir: string) => `static:${join(dir, 'site')}:app:v1`,
} as const;

/** A three-layer image of multi-chunk layers, and the `oci:` layout it was copied to. */
async function sourceLayout(): Promise<{ image: Image; source: string }> {
  const image = await multiChunkImage(3, LAYER_BYTES);
  const source = `oci:${join(root, 'source')}:v1`;
  await copy(image, source);
  return { image, source };
}

/** Copies, aborting at the first progress event `stopAt` picks, and expects the copy to reject with the abort's reason. */
async function abortedCopy(
  source: string,
  destination: string,
  stopAt: (event: BlobProgress) => boolean,
  options: CopyOptions = {},
): Promise<void> {
  const controller = new AbortController();
  const reason = new Error('stopped by the test');
  const copying = copy(source, destination, {
    ...options,
    signal: controller.signal,
    onProgress: (event) => {
      if (stopAt(event)) controller.abort(reason);
    },
  });
  await expect(copying).rejects.toBe(reason);
}

describe('copy moves blobs with bounded concurrency and reports progress', () => {
  it.each(Object.keys(destinations) as Array<keyof typeof destinations>)('to %s', async (kind) => {
    const { image, source } = await sourceLayout();
    const events: BlobProgress[] = [];
    await copy(source, destinations[kind](join(root, 'out')), {
      concurrency: 2,
      onProgress: (event) => events.push(event),
    });
    // Every blob read back and verified: buffers reused along the way held the right bytes.
    const back = await copy(destinations[kind](join(root, 'out')), `oci:${join(root, 'back')}:v1`);
    if (kind !== 'docker-archive') expect(back.digest).toBe(image.manifest.digest.toString());
    const layers = image.manifest.json.layers;
    for (const layer of layers) {
      const mine = events.filter((event) => event.descriptor.digest === layer.digest);
      expect(mine[0]?.state).toBe('started');
      expect(mine.at(-1)).toEqual({ descriptor: layer, state: 'done', bytes: layer.size });
      const moving = mine.filter((event) => event.state === 'progress').map((event) => event.bytes);
      expect(moving.length).toBeGreaterThan(1); // several chunks, each reported
      expect(moving).toEqual([...moving].sort((a, b) => a - b));
      expect(moving.at(-1)).toBe(layer.size);
    }
    // At most `concurrency` blobs between started and done at any moment.
    const open = new Set<string>();
    let most = 0;
    for (const event of events) {
      if (event.state === 'started') open.add(event.descriptor.digest);
      if (event.state === 'done') open.delete(event.descriptor.digest);
      most = Math.max(most, open.size);
    }
    // A docker-archive takes its layers one after another, straight into one file.
    expect(most).toBe(kind === 'docker-archive' ? 1 : 2);
  });

  it('reports blobs the destination already has as skipped', async () => {
    const image = await multiChunkImage(2, 64 * 1024);
    const target = destinations.oci(root);
    await copy(image, target);
    const events: BlobProgress[] = [];
    await copy(image, target, { onProgress: (event) => events.push(event) });
    expect(events.map((event) => event.state)).toEqual(['skipped', 'skipped', 'skipped']);
  });
});

describe('destinations that take transient chunks', () => {
  // Each is done with a chunk before it asks for the next: a source that reuses its
  // buffer (a registry's socket reads) must not corrupt what they write.
  it.each(['oci', 'dir', 'static', 'oci-archive', 'docker-archive'])(
    '%s: copied back whole',
    async (kind) => {
      const built = await multiChunkImage(1, 300_000);
      const image = { ...built, blobs: reusingBlobSource(built.blobs) };
      const out = join(root, kind);
      const endpoint = {
        oci: `oci:${out}:v1`,
        dir: `dir:${out}`,
        static: `static:${out}:demo/app:v1`,
        'oci-archive': `oci-archive:${out}.tar:v1`,
        'docker-archive': `docker-archive:${out}.tar:demo/app:v1`,
      }[kind] as string;
      await copy(image, endpoint);
      // Read back, every blob verified against its digest (docker-archive: its layers
      // against their diff_ids) as it is written to a fresh layout.
      const back = await copy(endpoint, `oci:${join(root, `${kind}-back`)}:v1`);
      if (kind !== 'docker-archive') expect(back.digest).toBe(built.manifest.digest.toString());
    },
  );
});

describe('an aborted copy', () => {
  it.each(Object.keys(destinations) as Array<keyof typeof destinations>)(
    'to %s rejects, leaves nothing half-written under a digest, and a retry completes',
    async (kind) => {
      const { image, source } = await sourceLayout();
      const out = join(root, 'out');
      await abortedCopy(source, destinations[kind](out), (event) => event.state === 'progress');

      // No temporary file, and nothing under a digest it does not hash to.
      expect(await leftovers(out)).toEqual([]);
      const left = await filesUnder(out);
      if (kind === 'oci-archive' || kind === 'docker-archive') expect(left).toEqual([]);
      if (kind === 'oci') {
        const index = JSON.parse(await readFile(join(out, 'layout/index.json'), 'utf8'));
        expect(index.manifests).toEqual([]); // the layout exists, tagging nothing
      }
      if (kind === 'dir') expect(left).not.toContain('dir/manifest.json');

      const result = await copy(source, destinations[kind](out));
      expect(result.digest).toBe(image.manifest.digest.toString());
      const read = await readSource(destinations[kind](out));
      expect(read.kind === 'image' && read.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
      expect((await stat(out)).isDirectory()).toBe(true);
    },
  );
});

describe('a retry after an aborted copy to static:', () => {
  it('lists every blob in the content types, those the aborted copy left too', async () => {
    const { image, source } = await sourceLayout();
    const out = join(root, 'out');
    let done = 0;
    // One blob at a time: the config and a layer are stored whole before the abort.
    await abortedCopy(
      source,
      destinations.static(out),
      (event) => {
        if (event.state === 'done') done += 1;
        return event.state === 'progress' && done >= 2;
      },
      { concurrency: 1 },
    );
    expect(done).toBe(2);

    const events: BlobProgress[] = [];
    await copy(source, destinations.static(out), { onProgress: (event) => events.push(event) });
    expect(events.filter((event) => event.state === 'skipped')).toHaveLength(2);
    const types = JSON.parse(await readFile(join(out, 'site', STATIC_CONTENT_TYPES), 'utf8'));
    const nginx = await readFile(join(out, 'site', STATIC_NGINX_CONF), 'utf8');
    for (const { digest } of imageBlobs(image)) {
      expect(types[`/v2/app/blobs/${digest}`]).toBe('application/octet-stream');
      expect(nginx).toContain(`location = /v2/app/blobs/${digest} { default_type application/octet-stream;`);
    }
  });
});
