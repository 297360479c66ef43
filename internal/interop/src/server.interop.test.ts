// Our registry server against skopeo and our own client: every local transport pushed to
// it and pulled back with the same digests, without auth, with Basic auth from an
// htpasswd file, and with the Docker token service; a multi-platform index and an
// artifact with a subject round-trip, and the referrers API lists it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { copy } from '@stevedore/copy';
import { computeDigest } from '@stevedore/digest';
import { assembleImage, assembleIndex, type Image, imageLayers, memoryBlobSink } from '@stevedore/image';
import { manifestDescriptor } from '@stevedore/manifest';
import { type RunningServer, type StartServerOptions, startServer } from '@stevedore/server';
import { writeOciLayout } from '@stevedore/transport-oci';
import { RegistryClient } from '@stevedore/transport-registry';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

const text = (value: string) => new TextEncoder().encode(value);
const file = (name: string, content: string) => ({ name, type: 'file' as const, content: text(content) });

let scratch: string;
let image: Image;
let layout: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-server-interop-'));
  image = await buildImage(
    [[file('etc/base', 'base\n')], [file('app/run', '#!/bin/sh\necho hello\n')]],
    { entrypoint: ['/app/run'] },
    { blobSink: memoryBlobSink, platform: 'linux/amd64' },
  );
  layout = join(scratch, 'start');
  const arm = await buildImage(
    [[file('app/run', 'arm\n')]],
    {},
    { blobSink: memoryBlobSink, platform: 'linux/arm64' },
  );
  await writeOciLayout(layout, image, { tag: 'start' });
  await writeOciLayout(layout, await assembleIndex([image, arm]), { tag: 'multi' });
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const USER = 'pusher';
const PASSWORD = 'correct horse';

interface Mode {
  readonly name: string;
  readonly options: () => Promise<Partial<StartServerOptions>>;
  readonly authenticated: boolean;
}

const MODES: readonly Mode[] = [
  { name: 'without auth', options: async () => ({}), authenticated: false },
  {
    name: 'with Basic auth from an htpasswd file',
    authenticated: true,
    options: async () => {
      const htpasswd = join(scratch, 'htpasswd');
      await writeFile(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 5)}\n`);
      return { auth: { htpasswd } };
    },
  },
  {
    name: 'with the Docker token service',
    authenticated: true,
    options: async () => ({ auth: { htpasswd: { [USER]: bcrypt.hashSync(PASSWORD, 5) }, token: true } }),
  },
];

describe.each(MODES)('our registry $name', (mode) => {
  let server: RunningServer;
  let client: RegistryClient;
  let skopeoFlags: (direction: 'src' | 'dest') => string[];
  beforeAll(async () => {
    server = await startServer({ store: await mkdtemp(join(scratch, 'store-')), ...(await mode.options()) });
    client = new RegistryClient({
      credentials: async () => (mode.authenticated ? { username: USER, password: PASSWORD } : undefined),
    });
    skopeoFlags = (direction) => [
      `--${direction}-tls-verify=false`,
      ...(mode.authenticated ? [`--${direction}-creds`, `${USER}:${PASSWORD}`] : [`--${direction}-no-creds`]),
    ];
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  const skopeoDigest = async (reference: string, flags: string[]) =>
    JSON.parse(await runPeer('skopeo', ['inspect', ...flags, reference])).Digest as string;

  it('takes every local transport from skopeo and gives it back with the same digests', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const expected = image.manifest.digest.toString();
    for (const transport of ['oci', 'oci-archive', 'dir'] as const) {
      const source = join(scratch, `${mode.name}-${transport}-source`.replaceAll(' ', '-'));
      const back = join(scratch, `${mode.name}-${transport}-back`.replaceAll(' ', '-'));
      const endpoint = (path: string) => (transport === 'dir' ? `dir:${path}` : `${transport}:${path}:v1`);
      await runPeer('skopeo', ['copy', `oci:${layout}:start`, endpoint(source)]);
      const remote = `docker://${server.host}/skopeo/${transport}:v1`;
      await runPeer('skopeo', ['copy', ...skopeoFlags('dest'), endpoint(source), remote]);
      expect(
        await skopeoDigest(
          remote,
          skopeoFlags('src').map((flag) => flag.replace('--src-', '--')),
        ),
      ).toBe(expected);
      await runPeer('skopeo', ['copy', ...skopeoFlags('src'), remote, endpoint(back)]);
      expect(await skopeoDigest(endpoint(back), [])).toBe(expected);
    }
    // A docker-archive holds uncompressed layers: skopeo compresses them on the way in, so
    // the config (and with it the image ID) is what survives the round trip.
    const archive = join(scratch, `${mode.name}-docker.tar`.replaceAll(' ', '-'));
    await runPeer('skopeo', ['copy', `oci:${layout}:start`, `docker-archive:${archive}:example/app:v1`]);
    const remote = `docker://${server.host}/skopeo/docker-archive:v1`;
    await runPeer('skopeo', ['copy', ...skopeoFlags('dest'), `docker-archive:${archive}`, remote]);
    const config = JSON.parse(
      await runPeer('skopeo', [
        'inspect',
        '--config',
        '--raw',
        ...skopeoFlags('src').map((f) => f.replace('--src-', '--')),
        remote,
      ]),
    );
    expect(config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
  });

  it('copies the multi-platform index both ways with skopeo and with our client', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const inspect = skopeoFlags('src').map((flag) => flag.replace('--src-', '--'));
    const rawDigest = async (reference: string, flags: string[]) =>
      (
        await computeDigest(text(await runPeer('skopeo', ['inspect', '--raw', ...flags, reference])))
      ).toString();
    const expected = await rawDigest(`oci:${layout}:multi`, []);

    const pushedBySkopeo = `docker://${server.host}/multi/skopeo:v1`;
    await runPeer('skopeo', ['copy', '--all', ...skopeoFlags('dest'), `oci:${layout}:multi`, pushedBySkopeo]);
    expect(await rawDigest(pushedBySkopeo, inspect)).toBe(expected);
    const pulled = join(scratch, `${mode.name}-multi-ours`.replaceAll(' ', '-'));
    const ours = await copy(pushedBySkopeo, `oci:${pulled}:v1`, { all: true, registry: client });
    expect(ours.digest).toBe(expected);

    const pushedByUs = `docker://${server.host}/multi/ours:v1`;
    expect((await copy(`oci:${layout}:multi`, pushedByUs, { all: true, registry: client })).digest).toBe(
      expected,
    );
    const back = join(scratch, `${mode.name}-multi-skopeo`.replaceAll(' ', '-'));
    await runPeer('skopeo', ['copy', '--all', ...skopeoFlags('src'), pushedByUs, `oci:${back}:v1`]);
    expect(await rawDigest(`oci:${back}:v1`, [])).toBe(expected);
  });

  it('keeps an artifact with a subject, lists it as a referrer, and skopeo reads it by digest', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    await copy(image, `docker://${server.host}/signed/app:v1`, { registry: client });
    const made = await buildImage([[file('sbom.json', '{"packages":[]}')]], {}, { blobSink: memoryBlobSink });
    const sbom = await assembleImage(made.config, imageLayers(made), {
      subject: manifestDescriptor(image.manifest),
      annotations: { 'org.example.kind': 'sbom' },
    });
    await copy(sbom, `docker://${server.host}/signed/app@${sbom.manifest.digest}`, { registry: client });
    const listed = await client.listReferrers(`${server.host}/signed/app`, image.manifest.digest.toString());
    expect(listed).toEqual([
      {
        mediaType: sbom.manifest.mediaType,
        digest: sbom.manifest.digest.toString(),
        size: sbom.manifest.size,
        artifactType: sbom.manifest.json.config.mediaType,
        annotations: { 'org.example.kind': 'sbom' },
      },
    ]);
    // The referrers API answered: no sha256-<hex> fallback tag was needed.
    expect(await client.listTags(`${server.host}/signed/app`)).toEqual(['v1']);
    const raw = await runPeer('skopeo', [
      'inspect',
      '--raw',
      ...skopeoFlags('src').map((flag) => flag.replace('--src-', '--')),
      `docker://${server.host}/signed/app@${sbom.manifest.digest}`,
    ]);
    expect(text(raw)).toEqual(sbom.manifest.raw);
  });

  // Only where there is auth to refuse with (a skipped test in CI would be a defect).
  if (!mode.authenticated) return;
  it('refuses pushes and pulls without credentials', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    await expect(
      runPeer('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        '--dest-no-creds',
        `oci:${layout}:start`,
        `docker://${server.host}/denied/app:v1`,
      ]),
    ).rejects.toThrow(/unauthorized|authentication required|denied/i);
    const wrong = new RegistryClient({ credentials: async () => ({ username: USER, password: 'wrong' }) });
    await expect(wrong.listTags(`${server.host}/signed/app`)).rejects.toMatchObject({ status: 401 });
    await wrong.close();
  });
});
