import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { type Image, imageBlobs, imageDigest } from '@stevedore/image';
import { blobPath } from '@stevedore/transport-oci';
import { filesUnder, smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCapturing } from '../run-cli.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-layout-verb-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const blobsOf = (image: Image) => [
  imageDigest(image).toString(),
  ...imageBlobs(image).map((blob) => blob.digest),
];

/** A layout with v1 and old, old then deleted from index.json; its blobs set back an hour. */
async function layoutWithGarbage(): Promise<{ layout: string; kept: Image; old: Image }> {
  const layout = join(scratch, 'layout');
  const kept = await smallImage('layout kept');
  const old = await smallImage('layout old');
  await copy(kept, `oci:${layout}:v1`);
  await copy(old, `oci:${layout}:old`);
  expect((await stevedore('delete', `oci:${layout}:old`)).code).toBe(0);
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const digest of [...blobsOf(kept), ...blobsOf(old)])
    await utimes(blobPath(layout, digest), hourAgo, hourAgo);
  return { layout, kept, old };
}

async function blobsIn(layout: string): Promise<string[]> {
  return (await filesUnder(join(layout, 'blobs'))).map((name) => name.replace('/', ':')).sort();
}

describe('stevedore layout gc', () => {
  it('lists in a dry run, then removes, the blobs of a deleted tag; the layout stays readable', async () => {
    const { layout, kept, old } = await layoutWithGarbage();
    const garbage = blobsOf(old).sort();

    const dry = await stevedore('layout', 'gc', '--dry-run', layout);
    expect(dry.code).toBe(0);
    const lines = dry.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1).map((line) => line.split(' ')[2])).toEqual(garbage);
    expect(lines.every((line) => line.startsWith('would remove '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^would remove 3 blobs, \d+(\.\d)? (B|KiB); 3 kept$/);
    expect(await blobsIn(layout)).toEqual([...blobsOf(kept), ...garbage].sort());

    const collected = await stevedore('layout', 'gc', layout);
    expect(collected.code).toBe(0);
    expect(collected.stdout).toContain(`removed ${garbage[0]} `);
    expect(collected.stdout).toMatch(/^removed 3 blobs, .* freed; 3 kept$/m);
    expect(await blobsIn(layout)).toEqual(blobsOf(kept).sort());
    expect((await stevedore('validate', `oci:${layout}:v1`)).code).toBe(0);

    const again = JSON.parse((await stevedore('layout', 'gc', '--json', `oci:${layout}`)).stdout);
    expect(again).toEqual({ path: layout, dryRun: false, removed: [], kept: 3, bytesFreed: 0, missing: [] });
  });

  it('spares blobs younger than --minimum-age, and reports in JSON', async () => {
    const { layout, old } = await layoutWithGarbage();
    const recent = await smallImage('layout recent');
    await copy(recent, `oci:${layout}:recent`);
    await stevedore('delete', `oci:${layout}:recent`);
    const result = JSON.parse(
      (await stevedore('layout', 'gc', '--json', '--minimum-age', '600', layout)).stdout,
    );
    expect(result.removed.map((blob: { digest: string }) => blob.digest)).toEqual(blobsOf(old).sort());
    expect(result.bytesFreed).toBe(
      result.removed.reduce((sum: number, blob: { size: number }) => sum + blob.size, 0),
    );
    expect(result.kept).toBe(6);
  });

  it('answers usage errors with exit 2 and a broken or missing layout with exit 1, removing nothing', async () => {
    const { layout } = await layoutWithGarbage();
    const before = await blobsIn(layout);
    const usage: Array<[string[], string]> = [
      [['layout', 'prune', layout], 'unknown layout subverb "prune": expected gc'],
      [['layout', 'gc', `oci:${layout}:v1`], 'give its PATH, not a tag'],
      [
        ['layout', 'gc', '--minimum-age', 'soon', layout],
        '--minimum-age takes a number of seconds, got "soon"',
      ],
      [['layout', 'gc'], 'layout takes 2 arguments (gc PATH), got 1'],
    ];
    for (const [argv, message] of usage) {
      const run = await stevedore(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toContain(message);
    }
    const notLayout = await stevedore('layout', 'gc', scratch);
    expect(notLayout.code).toBe(1);
    expect(notLayout.stderr).toMatch(/^stevedore: ERR_LAYOUT_INVALID: .* no oci-layout file/);
    expect(await blobsIn(layout)).toEqual(before);
  });
});
