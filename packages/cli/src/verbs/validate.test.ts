import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { assembleIndex, type Image, imageDigest } from '@stevedore/image';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { blobPath } from '@stevedore/transport-oci';
import { fakeImage, smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCapturing } from '../run-cli.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

let scratch: string;
let server: RunningServer;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-validate-'));
  server = await startServer({ store: createMemoryStore() });
});
afterEach(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

async function layoutWith(image: Image): Promise<string> {
  const layout = join(scratch, 'layout');
  await copy(image, `oci:${layout}:v1`);
  return layout;
}

/** Flips one byte of a blob file in the middle, keeping its size. */
async function corrupt(layout: string, digest: string): Promise<void> {
  const file = blobPath(layout, digest);
  const bytes = await readFile(file);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
}

describe('stevedore validate', () => {
  it('checks the manifest, config and layers of a layout image, a line each, then ok', async () => {
    const image = await smallImage('validate');
    const layout = await layoutWith(image);
    const run = await stevedore('validate', '--concurrency', '1', `oci:${layout}:v1`);
    expect(run.code).toBe(0);
    const [layer] = image.manifest.json.layers;
    const size = (bytes: number) => `${bytes} B`.padStart(10);
    expect(run.stdout).toBe(
      [
        `manifest ${imageDigest(image)}  ${size(image.manifest.size)}  ok  linux/amd64`,
        `config   ${image.manifest.json.config.digest}  ${size(image.manifest.json.config.size)}  ok  linux/amd64`,
        `layer    ${layer?.digest}  ${size(layer?.size ?? 0)}  ok  linux/amd64`,
        `ok: 3 blobs, ${image.manifest.size + image.manifest.json.config.size + (layer?.size ?? 0)} B verified`,
        '',
      ].join('\n'),
    );
    expect((await stevedore('validate', '--quiet', `oci:${layout}:v1`)).stdout).toMatch(
      /^ok: 3 blobs, .* verified\n$/,
    );
    const json = JSON.parse((await stevedore('validate', '--json', '--diff-ids', `oci:${layout}:v1`)).stdout);
    expect(json).toMatchObject({
      image: `oci:${layout}:v1`,
      digest: imageDigest(image).toString(),
      ok: true,
    });
    expect(json.blobs.map((blob: { role: string }) => blob.role).sort()).toEqual([
      'config',
      'layer',
      'manifest',
    ]);
  });

  it('stops at a layer that is not its digest, naming it, with exit 1', async () => {
    const image = await smallImage('validate corrupt');
    const layout = await layoutWith(image);
    const layer = image.manifest.json.layers[0]?.digest ?? '';
    await corrupt(layout, layer);
    const run = await stevedore('validate', `oci:${layout}:v1`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^stevedore: ERR_DIGEST_MISMATCH: layer ${layer} of the linux/amd64 image: .*${layer}`),
    );
    expect(run.stdout).not.toContain('ok:');
    expect(run.stdout).not.toMatch(/^layer .* ok/m);
  });

  it('fails for a config or manifest that is not its digest, and for a blob cut short', async () => {
    const image = await smallImage('validate config');
    const layout = await layoutWith(image);
    const config = image.manifest.json.config.digest;
    const bytes = await readFile(blobPath(layout, config));
    await corrupt(layout, config);
    const bad = await stevedore('validate', `oci:${layout}:v1`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^stevedore: ERR_DIGEST_MISMATCH: .*${config}`));
    await writeFile(blobPath(layout, config), bytes.subarray(0, bytes.length - 1));
    const short = await stevedore('validate', `oci:${layout}:v1`);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^stevedore: ERR_SIZE_MISMATCH: /);
  });

  it('checks every platform of an index by default, or those --platform names, from a registry', async () => {
    const amd = await smallImage('validate amd', 'amd64');
    const arm = await smallImage('validate arm', 'arm64', 'v8');
    const index = await assembleIndex([amd, arm]);
    await copy(index, `docker://${server.host}/multi:v1`, { all: true });
    const all = await stevedore('validate', `${server.host}/multi:v1`);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^ok: 7 blobs, /);
    expect(lines.filter((line) => line.startsWith('index    '))).toEqual([
      expect.stringContaining(imageDigest(index).toString()),
    ]);
    expect(lines.filter((line) => line.endsWith('linux/arm64/v8'))).toHaveLength(3);

    const one = await stevedore('validate', '--json', '--platform', 'linux/arm64', `${server.host}/multi:v1`);
    const result = JSON.parse(one.stdout);
    expect(
      result.blobs
        .map((blob: { role: string; platform?: string }) => `${blob.role} ${blob.platform ?? ''}`)
        .sort(),
    ).toEqual(['config linux/arm64/v8', 'index ', 'layer linux/arm64/v8', 'manifest linux/arm64/v8']);
    const absent = await stevedore('validate', '--platform', 'linux/s390x', `${server.host}/multi:v1`);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/^stevedore: ERR_NO_MATCH: /);
  });

  it('with --diff-ids, also checks each layer decompressed against its diff_id', async () => {
    // fakeImage's layer is what its digest says, but not a tar whose digest is its diff_id.
    const image = await fakeImage('validate diff');
    const layout = await layoutWith(image);
    expect((await stevedore('validate', `oci:${layout}:v1`)).code).toBe(0);
    const run = await stevedore('validate', '--diff-ids', `oci:${layout}:v1`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^stevedore: ERR_DIGEST_MISMATCH: layer ${image.manifest.json.layers[0]?.digest} .*${image.config.rootfs.diff_ids[0]}`,
      ),
    );
    const good = await layoutWith(await smallImage('validate diff good'));
    expect((await stevedore('validate', '--diff-ids', `oci:${good}:v1`)).code).toBe(0);
  });
});
