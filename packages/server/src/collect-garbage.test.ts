import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleImage, assembleIndex, type ImageNode, imageDigest } from '@stevedore/image';
import { RegistryClient, writeRegistry } from '@stevedore/transport-registry';
import { fakeImage, fakeLayer, testConfig } from '@stevedore-internal/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { collectGarbage } from './collect-garbage.ts';
import { openFilesystemStore } from './filesystem-store.ts';
import { createMemoryStore } from './memory-store.ts';
import { type RunningServer, startServer } from './start-server.ts';
import type { RegistryStore } from './store.ts';

const running: RunningServer[] = [];
const client = new RegistryClient({ credentials: async () => undefined });
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function registryOn(store: RegistryStore) {
  const server = await startServer({ store });
  running.push(server);
  return {
    server,
    push: (reference: string, node: ImageNode) => writeRegistry(`${server.host}/${reference}`, node, client),
    status: async (path: string) => (await fetch(`${server.url}/v2/${path}`)).status,
  };
}
const layerDigests = (node: ImageNode) =>
  node.kind === 'image' ? node.manifest.json.layers.map((l) => l.digest) : [];
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe.each([
  ['memory', async () => createMemoryStore()],
  ['filesystem', async () => openFilesystemStore(await mkdtemp(join(tmpdir(), 'stevedore-gc-')))],
])('garbage collection on the %s store', (_name, openStore) => {
  it('sweeps the blobs only deleted manifests used, keeps shared and referenced ones', async () => {
    const store = await openStore();
    const { push, status, server } = await registryOn(store);
    const shared = await fakeLayer('shared');
    const kept = await assembleImage(testConfig, [shared, await fakeLayer('kept')]);
    const dropped = await assembleImage(testConfig, [shared, await fakeLayer('dropped')]);
    await push('app:kept', kept);
    await push('app:dropped', dropped);
    await fetch(`${server.url}/v2/app/manifests/${imageDigest(dropped)}`, { method: 'DELETE' });
    await settle();

    const dry = await collectGarbage(store, { gracePeriod: 0, dryRun: true });
    const droppedOnly = [
      imageDigest(dropped).toString(),
      dropped.manifest.json.config.digest,
      layerDigests(dropped)[1],
    ];
    expect([...dry.blobs].sort()).toEqual(droppedOnly.sort());
    expect(await status(`app/blobs/${layerDigests(dropped)[1]}`)).toBe(200);

    const report = await collectGarbage(store, { gracePeriod: 0 });
    expect([...report.blobs].sort()).toEqual(droppedOnly.sort());
    expect(report.bytes).toBeGreaterThan(0);
    expect(await status(`app/blobs/${layerDigests(dropped)[1]}`)).toBe(404);
    for (const digest of layerDigests(kept)) expect(await status(`app/blobs/${digest}`)).toBe(200);
    expect(await status('app/manifests/kept')).toBe(200);
    // Nothing shows a blob that is gone: a manifest naming it is refused until it is pushed again.
    expect(await store.hasBlobLink('app', layerDigests(dropped)[1] as string)).toBe(false);
    await push('app:again', dropped);
    expect(await status('app/manifests/again')).toBe(200);
  });

  it('spares what was pushed within the grace period', async () => {
    const store = await openStore();
    const { push, server } = await registryOn(store);
    const image = await fakeImage('fresh');
    await push('app:v1', image);
    await fetch(`${server.url}/v2/app/manifests/${imageDigest(image)}`, { method: 'DELETE' });
    const report = await collectGarbage(store);
    expect(report.blobs).toEqual([]);
  });

  it('with deleteUntagged, keeps what tags reach: index children and referrers', async () => {
    const store = await openStore();
    const { push, status } = await registryOn(store);
    const amd = await fakeImage('amd', 'amd64');
    const arm = await fakeImage('arm', 'arm64');
    const index = await assembleIndex([amd, arm]);
    await push('multi:latest', index);
    const orphan = await fakeImage('orphan');
    await push(`multi@${imageDigest(orphan)}`, orphan);
    await settle();

    const report = await collectGarbage(store, { gracePeriod: 0, deleteUntagged: true });
    expect(report.manifests).toEqual([{ repository: 'multi', digest: imageDigest(orphan).toString() }]);
    expect(await status(`multi/manifests/${imageDigest(orphan)}`)).toBe(404);
    expect(await status(`multi/manifests/${imageDigest(amd)}`)).toBe(200);
    expect(await status(`multi/blobs/${layerDigests(arm)[0]}`)).toBe(200);
    expect(await status(`multi/blobs/${layerDigests(orphan)[0]}`)).toBe(404);
  });
});
