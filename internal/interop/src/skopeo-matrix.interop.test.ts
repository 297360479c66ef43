// Every ordered pair of on-disk transports through skopeo and us: skopeo writes an image
// to A, `copy` reads it from A and writes it to B, skopeo reads it from B. Manifest digests
// hold between oci:, oci-archive: and dir:; a docker-archive stores its layers
// uncompressed and no manifest at all, so through one the config digest and the diff_ids
// are what must hold.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '@stevedore/build';
import { copy, readSource } from '@stevedore/copy';
import { computeDigest } from '@stevedore/digest';
import { type Image, imageLayers, memoryBlobSink } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { writeOciLayout } from '@stevedore/transport-oci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

const TRANSPORTS = ['oci', 'oci-archive', 'docker-archive', 'dir'] as const;
type Transport = (typeof TRANSPORTS)[number];
const PAIRS = TRANSPORTS.flatMap((from) => TRANSPORTS.map((to) => [from, to] as const));

const text = (value: string) => new TextEncoder().encode(value);
const sha256 = async (value: string | Uint8Array) =>
  (await computeDigest(typeof value === 'string' ? text(value) : value)).toString();

let scratch: string;
let image: Image;
/** Our OCI layout of `image`, tagged `start`: what skopeo copies to each A. */
let start: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-skopeo-matrix-interop-'));
  image = await buildImage(
    [
      [{ name: 'etc/base', type: 'file', content: text('base\n') }],
      [{ name: 'app/run', type: 'file', content: text('#!/bin/sh\necho "$GREETING"\n'), mode: 0o755 }],
    ],
    { entrypoint: ['/app/run'], cmd: ['--loud'], env: { GREETING: 'hello', PATH: '/app:/usr/bin:/bin' } },
    { blobSink: memoryBlobSink },
  );
  start = join(scratch, 'start');
  await writeOciLayout(start, image, { tag: 'start' });
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** An endpoint in the syntax skopeo and `copy` share; `dir:` has no tag. */
function endpoint(transport: Transport, path: string, tag: string): string {
  switch (transport) {
    case 'dir':
      return `dir:${path}`;
    // skopeo finds an image in a docker-archive by a RepoTag, which needs a repository name.
    case 'docker-archive':
      return `docker-archive:${path}:example/matrix:${tag}`;
    default:
      return `${transport}:${path}:${tag}`;
  }
}

function location(transport: Transport, name: string): string {
  return join(scratch, transport.endsWith('-archive') ? `${name}.tar` : name);
}

/** An image as skopeo sees it at an endpoint. */
interface SkopeoView {
  readonly manifestDigest: string;
  readonly manifestMediaType: string;
  readonly configDigest: string;
  readonly layerDigests: readonly string[];
  readonly diffIds: readonly string[];
  readonly config: { Env?: string[]; Entrypoint?: string[]; Cmd?: string[] };
}

async function inspectWithSkopeo(reference: string): Promise<SkopeoView> {
  const manifest = await runPeer('skopeo', ['inspect', '--raw', reference]);
  const config = await runPeer('skopeo', ['inspect', '--config', '--raw', reference]);
  const summary = JSON.parse(await runPeer('skopeo', ['inspect', reference]));
  const parsedManifest = JSON.parse(manifest);
  const parsedConfig = JSON.parse(config);
  // The summary's Digest is that of the raw manifest, computed by skopeo.
  expect(summary.Digest).toBe(await sha256(manifest));
  return {
    manifestDigest: await sha256(manifest),
    manifestMediaType: parsedManifest.mediaType,
    configDigest: await sha256(config),
    layerDigests: summary.Layers,
    diffIds: parsedConfig.rootfs.diff_ids,
    config: parsedConfig.config,
  };
}

describe.each(PAIRS)('skopeo → %s → copy → %s → skopeo', (from, to) => {
  it('keeps the config, layers and digests', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const source = endpoint(from, location(from, `${from}-to-${to}-source`), 'a');
    const destinationPath = location(to, `${from}-to-${to}-destination`);
    const destination = endpoint(to, destinationPath, 'b');
    const diffIds = image.config.rootfs.diff_ids;
    const compressedDigests = imageLayers(image).map((layer) => layer.descriptor.digest);
    const throughDockerArchive = from === 'docker-archive' || to === 'docker-archive';

    await runPeer('skopeo', ['copy', `oci:${start}:start`, source]);
    const written = await inspectWithSkopeo(source);
    expect(written.configDigest).toBe(image.manifest.json.config.digest);
    expect(written.diffIds).toEqual(diffIds);
    expect(written.layerDigests).toEqual(from === 'docker-archive' ? diffIds : compressedDigests);

    const result = await copy(source, destination);
    if (to !== 'docker-archive') {
      // Our tag names the image we wrote. (A docker-archive's RepoTag is checked by skopeo
      // finding the image by it.)
      expect((await readSource(destination)).manifest.digest.toString()).toBe(result.digest);
    }

    const read = await inspectWithSkopeo(destination);
    // The config travels byte for byte everywhere, docker-archive included.
    expect(read.configDigest).toBe(image.manifest.json.config.digest);
    expect(read.diffIds).toEqual(diffIds);
    expect(read.config.Env).toEqual(['GREETING=hello', 'PATH=/app:/usr/bin:/bin']);
    expect(read.config.Entrypoint).toEqual(['/app/run']);
    expect(read.config.Cmd).toEqual(['--loud']);
    // The layers stay as they were: gzip, unless a docker-archive decompressed them.
    expect(read.layerDigests).toEqual(throughDockerArchive ? diffIds : compressedDigests);
    if (to !== 'docker-archive') {
      // B holds the very manifest we read from A.
      expect(read.manifestDigest).toBe(result.digest);
    }
    if (!throughDockerArchive) {
      expect(written.manifestDigest).toBe(image.manifest.digest.toString());
      expect(read.manifestDigest).toBe(image.manifest.digest.toString());
      expect(read.manifestMediaType).toBe(MediaTypes.OciManifest);
    } else if (to !== 'docker-archive') {
      // A docker-archive holds no manifest: copy describes its image as OCI for an OCI
      // layout (containers/image resolves an index.json tag only on OCI entries: oci/layout
      // getManifestDescriptor) and as Docker schema 2 elsewhere, as skopeo does.
      expect(read.manifestMediaType).toBe(
        to === 'oci' || to === 'oci-archive' ? MediaTypes.OciManifest : MediaTypes.DockerManifest,
      );
    } else if (from === 'docker-archive') {
      // skopeo makes up an archive's manifest from its config and layers: the same ones.
      expect(read.manifestDigest).toBe(written.manifestDigest);
    }

    // skopeo copies every blob out of B into a dir: of its own, verifying each.
    const out = join(scratch, `${from}-to-${to}-out`);
    await runPeer('skopeo', ['copy', destination, `dir:${out}`]);
    expect(await sha256(await readFile(join(out, 'manifest.json')))).toBe(read.manifestDigest);
    const blobs = [...read.layerDigests, read.configDigest].map((digest) => digest.replace('sha256:', ''));
    expect((await readdir(out)).sort()).toEqual(['manifest.json', 'version', ...blobs].sort());
  });
});
