// The registry client and copy against a real distribution registry (Debian's
// docker-registry on a free loopback port), checked by skopeo.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { copy, deleteImage, inspect, listTags } from '@stevedore/copy';
import { collectBytes, computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  type BlobProgress,
  type ImageNode,
  imageLayers,
} from '@stevedore/image';
import { manifestDescriptor } from '@stevedore/manifest';
import { listOciLayoutReferrers, listOciLayoutTags, writeOciLayout } from '@stevedore/transport-oci';
import { findCredentials, RegistryClient, type RegistryEvent } from '@stevedore/transport-registry';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFaultProxy } from './fault-proxy.ts';
import { needPeers, runPeer } from './peers.ts';
import { type RunningRegistry, startRegistry } from './registry.ts';
import { startTokenIssuer } from './token-issuer.ts';

let scratch: string;
let running: RunningRegistry | undefined;
const client = new RegistryClient({ credentials: async () => undefined });
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-registry-'));
});
afterAll(async () => {
  await client.close();
  await running?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** The registry of this file, started by the first test that needs it. */
async function registry(): Promise<RunningRegistry> {
  running ??= await startRegistry();
  return running;
}

const file = (name: string, text: string) => ({
  name,
  type: 'file' as const,
  content: new TextEncoder().encode(text),
});

it('reads manifests, blobs and tags that skopeo pushed to docker-registry', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
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
  const target = `${host}/team/app`;
  const tls = '--dest-tls-verify=false';
  await runPeer('skopeo', ['copy', tls, `oci:${layout}:single`, `docker://${target}:v1`]);
  await runPeer('skopeo', ['copy', tls, '--all', `oci:${layout}:multi`, `docker://${target}:multi`]);
  for (let tag = 0; tag < 3; tag++)
    await runPeer('skopeo', ['copy', tls, `oci:${layout}:single`, `docker://${target}:t${tag}`]);

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
  expect((await client.listTags(target, { pageSize: 2 })).sort()).toEqual(['multi', 't0', 't1', 't2', 'v1']);
  await expect(client.getManifest(`${host}/team/absent:v1`)).rejects.toMatchObject({
    code: 'ERR_REGISTRY_RESPONSE',
    status: 404,
  });
});

it('pushes what skopeo pulls, pulls what skopeo pushed, and re-pushes nothing unchanged', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
  const amd = await buildImage(
    [[file('a', 'amd64')], [file('b', 'second layer')]],
    { entrypoint: ['/a'] },
    {
      platform: 'linux/amd64',
    },
  );
  const arm = await buildImage([[file('a', 'arm64')]], {}, { platform: 'linux/arm64' });
  const index = await assembleIndex([amd, arm]);
  const repository = `${host}/team/copied`;
  const options = { registry: client };

  // ours → registry → skopeo
  await copy(amd, `docker://${repository}:single`, options);
  await copy(index, `docker://${repository}:multi`, { ...options, all: true });
  const tls = '--src-tls-verify=false';
  const raw = await runPeer('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--raw',
    `docker://${repository}:single`,
  ]);
  expect(new TextEncoder().encode(raw)).toEqual(amd.manifest.raw);
  const layout = join(scratch, 'from-skopeo');
  await runPeer('skopeo', ['copy', tls, '--all', `docker://${repository}:multi`, `oci:${layout}:multi`]);
  expect((await inspect(`oci:${layout}:multi`)).digest).toBe(index.manifest.digest.toString());

  // skopeo → registry → ours
  await runPeer('skopeo', [
    'copy',
    '--dest-tls-verify=false',
    '--all',
    `oci:${layout}:multi`,
    `docker://${repository}:pushed`,
  ]);
  const pulled = join(scratch, 'ours');
  const result = await copy(`docker://${repository}:pushed`, `oci:${pulled}:v1`, {
    ...options,
    platform: 'linux/arm64',
  });
  expect(result.digest).toBe(arm.manifest.digest.toString());
  const all = await copy(`docker://${repository}:multi`, `oci:${pulled}:all`, { ...options, all: true });
  expect(all.digest).toBe(index.manifest.digest.toString());
  expect((await inspect(`docker://${repository}:single`, options)).config?.config?.Entrypoint).toEqual([
    '/a',
  ]);
  expect((await listTags(`docker://${repository}`, options)).sort()).toEqual(['multi', 'pushed', 'single']);

  // An unchanged image costs HEADs only: every blob is skipped.
  const events: BlobProgress[] = [];
  await copy(`oci:${pulled}:all`, `docker://${repository}:again`, {
    ...options,
    all: true,
    onProgress: (event) => events.push(event),
  });
  expect(events.length).toBeGreaterThan(0);
  expect(events.every((event) => event.state === 'skipped')).toBe(true);
  const again = await runPeer('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--raw',
    `docker://${repository}:again`,
  ]);
  expect(new TextEncoder().encode(again)).toEqual(index.manifest.raw);
});

it('copies between repositories of one registry by mounting blobs', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
  const image = await buildImage(
    [[file('m', 'mounted')], [file('n', 'also')]],
    {},
    { platform: 'linux/amd64' },
  );
  await copy(image, `docker://${host}/base/app:v1`, { registry: client });
  const events: BlobProgress[] = [];
  const result = await copy(`docker://${host}/base/app:v1`, `docker://${host}/derived/app:v1`, {
    registry: client,
    onProgress: (event) => events.push(event),
  });
  expect(result.digest).toBe(image.manifest.digest.toString());
  expect(events.map((event) => event.state)).toEqual(['mounted', 'mounted', 'mounted']);
  // skopeo copies every blob out of the new repository, verifying each.
  const out = join(scratch, 'mounted-out');
  await runPeer('skopeo', [
    'copy',
    '--src-tls-verify=false',
    `docker://${host}/derived/app:v1`,
    `oci:${out}:v1`,
  ]);
  expect((await inspect(`oci:${out}:v1`)).digest).toBe(image.manifest.digest.toString());
});

it('lists the catalog, and referrers through the tag schema that distribution 2.8 needs', async (context) => {
  if (!(await needPeers(context, 'docker-registry'))) return;
  const { host } = await registry();
  const subject = await buildImage([[file('s', 'subject')]], {}, { platform: 'linux/amd64' });
  const signature = await buildImage([[file('sig', 'signature')]], {}, { platform: 'linux/amd64' });
  await copy(subject, `docker://${host}/refs/app:v1`, { registry: client });
  await copy(signature, `docker://${host}/refs/app:sig`, { registry: client });
  const entry = {
    mediaType: signature.manifest.mediaType,
    digest: signature.manifest.digest.toString(),
    size: signature.manifest.raw.length,
    artifactType: 'application/vnd.example.signature',
  };
  const index = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [entry],
    }),
  );
  await client.putManifest(`${host}/refs/app:${subject.manifest.digest.toString().replace(':', '-')}`, {
    bytes: index,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: (await computeDigest(index)).toString(),
  });
  expect(await client.listReferrers(`${host}/refs/app`, subject.manifest.digest.toString())).toEqual([entry]);
  expect(
    await client.listReferrers(`${host}/refs/app`, subject.manifest.digest.toString(), {
      artifactType: 'other/type',
    }),
  ).toEqual([]);
  expect(await client.listRepositories(host, { pageSize: 1 })).toContain('refs/app');
});

it('copies referrers along: layout to registry (keeping the tag schema), between repositories, and back', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
  const amd = await buildImage([[file('app', 'amd64 app')]], {}, { platform: 'linux/amd64' });
  const arm = await buildImage([[file('app', 'arm64 app')]], {}, { platform: 'linux/arm64' });
  const index = await assembleIndex([amd, arm]);
  const referrerOf = async (subject: ImageNode, kind: string) => {
    const made = await buildImage([[file(kind, `${kind} of ${subject.manifest.digest}`)]], {}, {});
    return assembleImage(made.config, imageLayers(made), {
      subject: manifestDescriptor(subject.manifest),
      annotations: { 'org.example.kind': kind },
    });
  };
  const sbom = await referrerOf(index, 'sbom');
  const signature = await referrerOf(amd, 'signature');
  const sbomSignature = await referrerOf(sbom, 'signature');
  const layout = join(scratch, 'referrers-layout');
  await copy(index, `oci:${layout}:v1`, { all: true });
  for (const referrer of [sbom, signature, sbomSignature]) await copy(referrer, `oci:${layout}`);
  const expected = [sbom, signature, sbomSignature].map((node) => node.manifest.digest.toString()).sort();

  const pushed = await copy(`oci:${layout}:v1`, `docker://${host}/signed/app:v1`, {
    all: true,
    referrers: true,
    registry: client,
  });
  expect([...(pushed.referrers ?? [])].sort()).toEqual(expected);
  // distribution 2.8 has no referrers API: the pushes kept the sha256-<hex> tags.
  const tags = await listTags(`docker://${host}/signed/app`, { registry: client });
  expect(tags).toContain(`sha256-${index.manifest.digest.encoded}`);
  expect(tags).toContain(`sha256-${amd.manifest.digest.encoded}`);
  const listed = await client.listReferrers(`${host}/signed/app`, index.manifest.digest.toString());
  expect(listed).toEqual([
    {
      mediaType: sbom.manifest.mediaType,
      digest: sbom.manifest.digest.toString(),
      size: sbom.manifest.size,
      artifactType: sbom.manifest.json.config.mediaType,
      annotations: { 'org.example.kind': 'sbom' },
    },
  ]);
  // skopeo reads a referrer by digest: it is an ordinary manifest there.
  const raw = await runPeer('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--raw',
    `docker://${host}/signed/app@${signature.manifest.digest}`,
  ]);
  expect(new TextEncoder().encode(raw)).toEqual(signature.manifest.raw);

  const mirrored = await copy(`docker://${host}/signed/app:v1`, `docker://${host}/mirror/app:v1`, {
    all: true,
    referrers: true,
    registry: client,
  });
  expect([...(mirrored.referrers ?? [])].sort()).toEqual(expected);
  expect(
    (await client.listReferrers(`${host}/mirror/app`, sbom.manifest.digest.toString())).map(
      (entry) => entry.digest,
    ),
  ).toEqual([sbomSignature.manifest.digest.toString()]);

  const back = join(scratch, 'referrers-back');
  const pulled = await copy(`docker://${host}/mirror/app:v1`, `oci:${back}:v1`, {
    all: true,
    referrers: true,
    registry: client,
  });
  expect([...(pulled.referrers ?? [])].sort()).toEqual(expected);
  expect(
    (await listOciLayoutReferrers(back, amd.manifest.digest.toString())).map((entry) => entry.digest),
  ).toEqual([signature.manifest.digest.toString()]);
  // The referrers tags are not copied as images of their own.
  expect(await listOciLayoutTags(back)).toEqual(['v1']);
});

it('copies an image a registry already holds with a manifest GET and HEADs, reading no blob', async (context) => {
  if (!(await needPeers(context, 'docker-registry'))) return;
  const { host } = await registry();
  const watched = await startFaultProxy(host, { maxBody: Number.POSITIVE_INFINITY, inject: false });
  const watching = new RegistryClient({ credentials: async () => undefined });
  try {
    const amd = await buildImage([[file('a', 'held amd64')]], {}, { platform: 'linux/amd64' });
    const arm = await buildImage([[file('a', 'held arm64')]], {}, { platform: 'linux/arm64' });
    const index = await assembleIndex([amd, arm]);
    const options = { registry: watching, all: true };
    await copy(index, `docker://${watched.host}/held/source:v1`, options);
    await copy(`docker://${watched.host}/held/source:v1`, `docker://${watched.host}/held/mirror:v1`, options);
    watched.requests.length = 0;
    const again = await copy(
      `docker://${watched.host}/held/source:v1`,
      `docker://${watched.host}/held/mirror:v1`,
      options,
    );
    expect(again.digest).toBe(index.manifest.digest.toString());
    expect(watched.requests).toEqual([
      'GET /v2/held/source/manifests/v1',
      'HEAD /v2/held/mirror/manifests/v1',
    ]);
    // One platform of it: the selected image's digest, found the same way.
    watched.requests.length = 0;
    await copy(`docker://${watched.host}/held/mirror:v1`, `docker://${watched.host}/held/arm:v1`, {
      registry: watching,
      platform: 'linux/arm64',
    });
    expect(watched.requests.some((request) => request.includes('/blobs/'))).toBe(true); // new: blobs asked for
    // The other platform's manifest and config are never read.
    for (const digest of [amd.manifest.digest.toString(), amd.manifest.json.config.digest]) {
      expect(watched.requests.filter((request) => request.includes(digest))).toEqual([]);
    }
    watched.requests.length = 0;
    const armAgain = await copy(
      `docker://${watched.host}/held/mirror:v1`,
      `docker://${watched.host}/held/arm:v1`,
      {
        registry: watching,
        platform: 'linux/arm64',
      },
    );
    expect(armAgain.digest).toBe(arm.manifest.digest.toString());
    expect(watched.requests.filter((request) => request.includes('/blobs/'))).toEqual([]);
  } finally {
    await watching.close();
    await watched.stop();
  }
});

it('copies between a registry and every local transport, both ways', async (context) => {
  if (!(await needPeers(context, 'docker-registry'))) return;
  const { host } = await registry();
  const image = await buildImage(
    [[file('a', 'every transport')], [file('b', 'second layer')]],
    { cmd: ['/a'] },
    { platform: 'linux/amd64', format: 'docker' },
  );
  const source = `docker://${host}/transports/app:v1`;
  await copy(image, source, { registry: client });
  const digest = image.manifest.digest.toString();
  const places = {
    dir: `dir:${join(scratch, 'transports-dir')}`,
    'oci-archive': `oci-archive:${join(scratch, 'transports.tar')}:v1`,
    static: `static:${join(scratch, 'transports-site')}:transports/app:v1`,
    'docker-archive': `docker-archive:${join(scratch, 'transports-docker.tar')}:transports/app:v1`,
  };
  for (const [name, place] of Object.entries(places)) {
    const out = await copy(source, place, { registry: client });
    const back = await copy(place, `docker://${host}/transports/from-${name}:v1`, { registry: client });
    const config = (await inspect(`docker://${host}/transports/from-${name}:v1`, { registry: client }))
      .config;
    expect(config?.rootfs.diff_ids, name).toEqual(image.config.rootfs.diff_ids);
    expect(config?.config?.Cmd, name).toEqual(['/a']);
    if (name === 'docker-archive') {
      // Layers stored uncompressed there: compressed again on the way back, new digests.
      expect(out.digest).toBe(digest);
      expect(back.digest).not.toBe(digest);
    } else {
      expect([out.digest, back.digest], name).toEqual([digest, digest]);
    }
  }
});

it('pushes in chunks (PATCH with Content-Range) that distribution accepts', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
  const noise = new Uint8Array(randomBytes(200_000));
  const image = await buildImage(
    [[{ name: 'noise', type: 'file', content: noise }]],
    {},
    { platform: 'linux/amd64' },
  );
  const chunked = new RegistryClient({
    credentials: async () => undefined,
    chunked: [host],
    chunkSize: 65_536,
  });
  try {
    await copy(image, `docker://${host}/chunked/app:v1`, { registry: chunked });
  } finally {
    await chunked.close();
  }
  const out = join(scratch, 'chunked-out');
  await runPeer('skopeo', [
    'copy',
    '--src-tls-verify=false',
    `docker://${host}/chunked/app:v1`,
    `oci:${out}:v1`,
  ]);
  expect((await inspect(`oci:${out}:v1`)).digest).toBe(image.manifest.digest.toString());
});

it('logs in with stored credentials to a registry with htpasswd basic auth', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const secured = await startRegistry({ users: { alice: 'wonderland' } });
  const home = join(scratch, 'home');
  await mkdir(join(home, '.docker'), { recursive: true });
  const auth = Buffer.from('alice:wonderland').toString('base64');
  await writeFile(join(home, '.docker/config.json'), JSON.stringify({ auths: { [secured.host]: { auth } } }));
  const stored = new RegistryClient({
    credentials: (registry, repository) => findCredentials(registry, repository, { home, env: {} }),
  });
  const anonymous = new RegistryClient({ credentials: async () => undefined });
  try {
    const image = await buildImage([[file('secret', 'only for alice')]], {}, { platform: 'linux/amd64' });
    await expect(
      copy(image, `docker://${secured.host}/private/app:v1`, { registry: anonymous }),
    ).rejects.toMatchObject({
      status: 401,
    });
    await copy(image, `docker://${secured.host}/private/app:v1`, { registry: stored });
    const raw = await runPeer('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--creds',
      'alice:wonderland',
      '--raw',
      `docker://${secured.host}/private/app:v1`,
    ]);
    expect(new TextEncoder().encode(raw)).toEqual(image.manifest.raw);
    expect((await inspect(`docker://${secured.host}/private/app:v1`, { registry: stored })).digest).toBe(
      image.manifest.digest.toString(),
    );
  } finally {
    await stored.close();
    await anonymous.close();
    await secured.stop();
  }
});

it('gets scoped tokens from a token service the registry trusts, anonymously for pulls', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const dir = join(scratch, 'token');
  await mkdir(dir, { recursive: true });
  const issuer = await startTokenIssuer(dir, { bob: 'builder' });
  const secured = await startRegistry({ token: issuer });
  const bob = new RegistryClient({ credentials: async () => ({ username: 'bob', password: 'builder' }) });
  const anonymous = new RegistryClient({ credentials: async () => undefined });
  const wrong = new RegistryClient({ credentials: async () => ({ username: 'bob', password: 'wrong' }) });
  try {
    const image = await buildImage([[file('t', 'token')]], {}, { platform: 'linux/amd64' });
    const target = `docker://${secured.host}/tokens/app:v1`;
    await expect(copy(image, target, { registry: anonymous })).rejects.toMatchObject({ status: 401 });
    await copy(image, target, { registry: bob });
    expect(issuer.requests).toContainEqual(['repository:tokens/app:pull,push']);
    // Pulls: anonymous tokens work, and refused credentials fall back to one.
    expect((await inspect(target, { registry: anonymous })).digest).toBe(image.manifest.digest.toString());
    expect((await inspect(target, { registry: wrong })).digest).toBe(image.manifest.digest.toString());
    // A mount asks one token for both repositories.
    await copy(target, `docker://${secured.host}/tokens/other:v1`, { registry: bob });
    expect(issuer.requests).toContainEqual([
      'repository:tokens/other:pull,push',
      'repository:tokens/app:pull',
    ]);
    const raw = await runPeer('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${secured.host}/tokens/other:v1`,
    ]);
    expect(new TextEncoder().encode(raw)).toEqual(image.manifest.raw);
    // A layer over 1 MiB pulled into a layout is read into reused buffers on a connection
    // of its own, with the same anonymous token.
    const big = await buildImage(
      [[{ name: 'noise', type: 'file', content: new Uint8Array(randomBytes(1_500_000)) }]],
      {},
      { platform: 'linux/amd64' },
    );
    await copy(big, `docker://${secured.host}/tokens/big:v1`, { registry: bob });
    const pulled = await copy(`docker://${secured.host}/tokens/big:v1`, `oci:${join(dir, 'pulled')}:v1`, {
      registry: anonymous,
    });
    expect(pulled.digest).toBe(big.manifest.digest.toString());
    expect((await inspect(`oci:${join(dir, 'pulled')}:v1`)).digest).toBe(big.manifest.digest.toString());
  } finally {
    await bob.close();
    await anonymous.close();
    await wrong.close();
    await secured.stop();
    await issuer.stop();
  }
});

it('copies through a proxy that drops connections, throttles, fails and refuses big bodies', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'docker-registry'))) return;
  const { host } = await registry();
  const proxy = await startFaultProxy(host, { maxBody: 150_000 });
  const events: RegistryEvent[] = [];
  const flaky = new RegistryClient({
    credentials: async () => undefined,
    retryDelay: 10,
    onEvent: (event) => events.push(event),
  });
  try {
    // Over 1 MiB: pulled into the layout, it is read into reused buffers (socketGet).
    const noise = new Uint8Array(randomBytes(1_500_000));
    const image = await buildImage(
      [[{ name: 'noise', type: 'file', content: noise }], [file('small', 'x')]],
      {},
      {
        platform: 'linux/amd64',
      },
    );
    // Push through the proxy: the big layer's streamed PATCH is refused (413) and sent in chunks.
    const pushed = await copy(image, `docker://${proxy.host}/faulty/app:v1`, { registry: flaky });
    expect(pushed.digest).toBe(image.manifest.digest.toString());
    // Pull through it: 429 on the manifest, 503 on a HEAD, a blob cut halfway.
    const out = join(scratch, 'faulty-out');
    const pulled = await copy(`docker://${proxy.host}/faulty/app:v1`, `oci:${out}:v1`, { registry: flaky });
    expect(pulled.digest).toBe(image.manifest.digest.toString());
    expect(proxy.faults.some((fault) => fault.startsWith('413 PATCH'))).toBe(true);
    expect(proxy.faults.some((fault) => fault.startsWith('429'))).toBe(true);
    expect(proxy.faults.some((fault) => fault.startsWith('503'))).toBe(true);
    expect(proxy.faults.some((fault) => fault.startsWith('cut'))).toBe(true);
    expect(events.filter((event) => event.type === 'retry').length).toBeGreaterThanOrEqual(3);
    // Pushed again from the layout, whose blobs are files read through reused buffers:
    // the big one refused, read again from its file and sent in chunks.
    // (A new client: this one remembers that the registry needs chunks.)
    const refusals = proxy.faults.filter((fault) => fault.startsWith('413 PATCH')).length;
    const fresh = new RegistryClient({ credentials: async () => undefined, retryDelay: 10 });
    const fromFiles = await copy(`oci:${out}:v1`, `docker://${proxy.host}/faulty/files:v1`, {
      registry: fresh,
    }).finally(() => fresh.close());
    expect(fromFiles.digest).toBe(image.manifest.digest.toString());
    expect(proxy.faults.filter((fault) => fault.startsWith('413 PATCH')).length).toBeGreaterThan(refusals);
    // What the registry holds is whole: skopeo copies every blob out, verifying each.
    for (const repository of ['app', 'files']) {
      const check = join(scratch, `faulty-check-${repository}`);
      await runPeer('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${host}/faulty/${repository}:v1`,
        `oci:${check}:v1`,
      ]);
      expect((await inspect(`oci:${check}:v1`)).digest).toBe(image.manifest.digest.toString());
    }
  } finally {
    await flaky.close();
    await proxy.stop();
  }
});

it('deletes from a registry by tag and by digest', async (context) => {
  if (!(await needPeers(context, 'docker-registry'))) return;
  const { host } = await registry();
  const one = await buildImage([[file('d', 'one')]], {}, { platform: 'linux/amd64' });
  const two = await buildImage([[file('d', 'two')]], {}, { platform: 'linux/amd64' });
  await copy(one, `docker://${host}/deleting/app:one`, { registry: client });
  await copy(two, `docker://${host}/deleting/app:two`, { registry: client });
  await deleteImage(`docker://${host}/deleting/app:one`, { registry: client });
  expect(await client.headManifest(`${host}/deleting/app:one`)).toBeUndefined();
  expect(await client.headManifest(`${host}/deleting/app@${one.manifest.digest}`)).toBeUndefined();
  await deleteImage(`docker://${host}/deleting/app`, {
    registry: client,
    digest: two.manifest.digest.toString(),
  });
  expect(await client.headManifest(`${host}/deleting/app:two`)).toBeUndefined();
  const [layer] = two.manifest.json.layers;
  if (layer === undefined) throw new Error('no layer');
  expect(await client.hasBlob(`${host}/deleting/app`, layer)).toBe(true);
  await client.deleteBlob(`${host}/deleting/app`, layer.digest);
  expect(await client.hasBlob(`${host}/deleting/app`, layer)).toBe(false);
  await expect(client.deleteBlob(`${host}/deleting/app`, layer.digest)).rejects.toMatchObject({
    status: 404,
    registryCode: 'BLOB_UNKNOWN',
  });
  await expect(deleteImage(`docker://${host}/deleting/app:gone`, { registry: client })).rejects.toMatchObject(
    {
      registryCode: 'MANIFEST_UNKNOWN',
    },
  );
});
