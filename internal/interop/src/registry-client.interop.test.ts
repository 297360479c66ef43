// Our registry client reads what skopeo pushed to a real distribution registry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { collectBytes } from '@stevedore/digest';
import { assembleIndex } from '@stevedore/image';
import { writeOciLayout } from '@stevedore/transport-oci';
import { RegistryClient } from '@stevedore/transport-registry';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';
import { type RunningRegistry, startRegistry } from './registry.ts';

let scratch: string;
let registry: RunningRegistry | undefined;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-registry-client-'));
});
afterAll(async () => {
  await registry?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const file = (name: string, text: string) => ({
  name,
  type: 'file' as const,
  content: new TextEncoder().encode(text),
});

it('reads manifests, blobs and tags that skopeo pushed to docker-registry', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  registry = await startRegistry();
  const amd = await buildImage(
    [[file('a.txt', 'amd64')], [file('b.txt', 'two')]],
    { cmd: ['/a'] },
    { platform: 'linux/amd64' },
  );
  const arm = await buildImage([[file('a.txt', 'arm64')]], {}, { platform: 'linux/arm64' });
  const index = await assembleIndex([amd, arm]);
  const layout = join(scratch, 'layout');
  await writeOciLayout(layout, amd, { tag: 'single' });
  await writeOciLayout(layout, index, { tag: 'multi' });
  const target = `${registry.host}/team/app`;
  const tls = '--dest-tls-verify=false';
  await runPeer('skopeo', ['copy', tls, `oci:${layout}:single`, `docker://${target}:v1`]);
  await runPeer('skopeo', ['copy', tls, '--all', `oci:${layout}:multi`, `docker://${target}:multi`]);
  for (let tag = 0; tag < 3; tag++)
    await runPeer('skopeo', ['copy', tls, `oci:${layout}:single`, `docker://${target}:t${tag}`]);

  const client = new RegistryClient({ credentials: async () => undefined });
  try {
    const single = await client.getManifest(`${target}:v1`);
    expect(single.digest).toBe(amd.manifest.digest.toString());
    expect(single.bytes).toEqual(amd.manifest.raw);
    const multi = await client.getManifest(`${target}:multi`);
    expect(multi.digest).toBe(index.manifest.digest.toString());
    expect(multi.mediaType).toBe(index.manifest.mediaType);
    const byDigest = await client.getManifest(`${target}@${arm.manifest.digest}`);
    expect(byDigest.bytes).toEqual(arm.manifest.raw);
    expect(await client.headManifest(`${target}:v1`)).toEqual({
      mediaType: amd.manifest.mediaType,
      digest: amd.manifest.digest.toString(),
      size: amd.manifest.raw.length,
    });
    expect(await client.headManifest(`${target}:absent`)).toBeUndefined();
    for (const descriptor of [amd.manifest.json.config, ...amd.manifest.json.layers]) {
      const bytes = await collectBytes(await client.getBlob(target, descriptor));
      expect(bytes.length).toBe(descriptor.size);
    }
    expect((await client.listTags(target, { pageSize: 2 })).sort()).toEqual([
      'multi',
      't0',
      't1',
      't2',
      'v1',
    ]);
    await expect(client.getManifest(`${registry.host}/team/absent:v1`)).rejects.toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 404,
    });
  } finally {
    await client.close();
  }
});
