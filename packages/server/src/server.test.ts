import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes, computeDigest } from '@stevedore/digest';
import { assembleIndex, type ImageNode, imageDigest } from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { RegistryClient, readRegistry, writeRegistry } from '@stevedore/transport-registry';
import { fakeImage, multiChunkImage, smallImage } from '@stevedore-internal/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { openFilesystemStore } from './filesystem-store.ts';
import { createMemoryStore } from './memory-store.ts';
import { type RunningServer, type StartServerOptions, startServer } from './start-server.ts';

const running: RunningServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function start(options: Partial<StartServerOptions> = {}): Promise<RunningServer> {
  const server = await startServer({ store: createMemoryStore(), ...options });
  running.push(server);
  return server;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const made = new RegistryClient({ credentials: async () => undefined, ...options });
  clients.push(made);
  return made;
}

const text = (value: string) => new TextEncoder().encode(value);
const sha256 = async (bytes: Uint8Array | string) =>
  (await computeDigest(typeof bytes === 'string' ? text(bytes) : bytes)).toString();

// How many of this process's open files are the blob's (Linux's /proc; 0 elsewhere).
async function openFilesOf(digest: string): Promise<number> {
  const descriptors = await readdir('/proc/self/fd').catch(() => []);
  const targets = await Promise.all(descriptors.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.endsWith(digest.split(':')[1] as string)).length;
}

const nodeDigest = (node: ImageNode) => imageDigest(node).toString();
const layersOf = (node: ImageNode) => (node.kind === 'image' ? node.manifest.json.layers : []);

describe.each([
  ['memory', async () => createMemoryStore()],
  ['filesystem', async () => openFilesystemStore(await mkdtemp(join(tmpdir(), 'stevedore-server-')))],
])('a registry on the %s store', (_name, openStore) => {
  it('takes an image from our client and gives back the same digests and bytes', async () => {
    const server = await start({ store: await openStore() });
    const registry = client();
    const image = await multiChunkImage(2, 300_000);
    await writeRegistry(`${server.host}/team/app:v1`, image, registry);
    const read = await readRegistry(`${server.host}/team/app:v1`, registry);
    expect(nodeDigest(read)).toBe(nodeDigest(image));
    expect(layersOf(read)).toEqual(layersOf(image));
    for (const layer of layersOf(image)) {
      const served = await collectBytes(await registry.getBlob(`${server.host}/team/app`, layer));
      expect(await sha256(served)).toBe(layer.digest);
    }
    expect(await registry.listTags(`${server.host}/team/app`)).toEqual(['v1']);
    expect(await registry.listRepositories(server.host)).toEqual(['team/app']);
  });

  it('takes blobs in chunks (PATCH with Content-Range) when the client sends them so', async () => {
    const server = await start({ store: await openStore() });
    const registry = client({ chunked: [server.host] });
    const image = await multiChunkImage(1, 9 * 1024 * 1024); // more than one 8 MiB chunk
    await writeRegistry(`${server.host}/app:chunked`, image, registry);
    const read = await readRegistry(`${server.host}/app:chunked`, registry);
    expect(nodeDigest(read)).toBe(nodeDigest(image));
  });

  it('sends a blob larger than its read buffers whole and by range, and lets go of it when a client leaves', async () => {
    const store = await openStore();
    const server = await start({ store });
    const bytes = randomBytes(3 * 1024 * 1024 + 12_345);
    const digest = await sha256(bytes);
    const upload = await fetch(`${server.url}/v2/big/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(upload.status).toBe(201);
    const url = `${server.url}/v2/big/blobs/${digest}`;
    const whole = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(Buffer.compare(whole, bytes)).toBe(0);
    const part = await fetch(url, { headers: { range: 'bytes=1000000-2600000' } });
    expect(part.status).toBe(206);
    expect(
      Buffer.compare(new Uint8Array(await part.arrayBuffer()), bytes.subarray(1_000_000, 2_600_001)),
    ).toBe(0);

    // A client that reads one chunk and hangs up: the server goes on serving.
    const leaving = new AbortController();
    const left = await fetch(url, { signal: leaving.signal });
    await left.body?.getReader().read();
    leaving.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sha256(new Uint8Array(await (await fetch(url)).arrayBuffer()))).toBe(digest);
    expect(await openFilesOf(digest)).toBe(0);
  });

  it('keeps a multi-platform index and its children', async () => {
    const server = await start({ store: await openStore() });
    const registry = client();
    const index = await assembleIndex([await smallImage('amd', 'amd64'), await smallImage('arm', 'arm64')]);
    await writeRegistry(`${server.host}/multi:latest`, index, registry);
    const read = await readRegistry(`${server.host}/multi:latest`, registry);
    expect(read.kind).toBe('index');
    expect(nodeDigest(read)).toBe(nodeDigest(index));
  });
});

describe('the registry API', () => {
  async function pushed(server: RunningServer, name = 'app', tag = 'v1') {
    const image = await fakeImage(`layer of ${name}:${tag}`);
    await writeRegistry(`${server.host}/${name}:${tag}`, image, client());
    return image;
  }

  it('gives readRegistry a blob source that answers undefined for a blob the repository lacks', async () => {
    const server = await start();
    const image = await pushed(server);
    const read = await readRegistry(`${server.host}/app:v1`, client());
    if (read.kind !== 'image') throw new Error('not an image');
    const layer = layersOf(image)[0];
    if (layer === undefined) throw new Error('no layer');
    const present = await read.blobs.openBlob(layer);
    expect(present === undefined ? undefined : await sha256(await collectBytes(present))).toBe(layer.digest);
    const absent = { ...layer, digest: `sha256:${'0'.repeat(64)}` };
    expect(await read.blobs.openBlob(absent)).toBeUndefined();
  });

  it('answers /v2/ with the API version header', async () => {
    const server = await start();
    const answer = await fetch(`${server.url}/v2/`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await answer.json()).toEqual({});
  });

  it('serves manifests with their type, digest and length, by tag and by digest, and HEAD without a body', async () => {
    const server = await start();
    const image = await pushed(server);
    const digest = nodeDigest(image);
    for (const reference of ['v1', digest]) {
      const answer = await fetch(`${server.url}/v2/app/manifests/${reference}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(image.manifest.mediaType);
      expect(answer.headers.get('docker-content-digest')).toBe(digest);
      expect(new Uint8Array(await answer.arrayBuffer())).toEqual(image.manifest.raw);
    }
    const head = await fetch(`${server.url}/v2/app/manifests/v1`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(image.manifest.raw.byteLength));
    expect(await head.text()).toBe('');
    const missing = await fetch(`${server.url}/v2/app/manifests/v2`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).errors[0].code).toBe('MANIFEST_UNKNOWN');
  });

  it('serves byte ranges of a blob, and 416 for a range it cannot serve', async () => {
    const server = await start();
    const image = await pushed(server);
    const layer = layersOf(image)[0];
    if (layer === undefined) throw new Error('no layer');
    const url = `${server.url}/v2/app/blobs/${layer.digest}`;
    const whole = await (await fetch(url)).text();
    const part = await fetch(url, { headers: { range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 2-5/${layer.size}`);
    expect(await part.text()).toBe(whole.slice(2, 6));
    const suffix = await fetch(url, { headers: { range: 'bytes=-3' } });
    expect(await suffix.text()).toBe(whole.slice(-3));
    const beyond = await fetch(url, { headers: { range: `bytes=${layer.size}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${layer.size}`);
    const other = await fetch(`${server.url}/v2/other/blobs/${layer.digest}`);
    expect(other.status).toBe(404);
    expect((await other.json()).errors[0].code).toBe('BLOB_UNKNOWN');
  });

  it('runs the chunked upload protocol: status, out-of-order chunks refused, digest checked', async () => {
    const server = await start();
    const started = await fetch(`${server.url}/v2/app/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(started.headers.get('range')).toBe('0-0');
    const location = new URL(started.headers.get('location') as string, server.url).toString();
    expect(started.headers.get('docker-upload-uuid')).toBe(location.split('/').pop());

    const first = await fetch(location, {
      method: 'PATCH',
      headers: { 'content-range': '0-4', 'content-type': 'application/octet-stream' },
      body: 'hello',
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-4');
    const wrong = await fetch(location, {
      method: 'PATCH',
      headers: { 'content-range': '3-5' },
      body: 'abc',
    });
    expect(wrong.status).toBe(416);
    expect((await wrong.json()).errors[0].code).toBe('BLOB_UPLOAD_INVALID');
    const status = await fetch(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-4');

    const bad = await fetch(`${location}?digest=${await sha256('something else')}`, { method: 'PUT' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].code).toBe('DIGEST_INVALID');

    const again = await fetch(`${server.url}/v2/app/blobs/uploads/`, { method: 'POST' });
    const second = new URL(again.headers.get('location') as string, server.url).toString();
    await fetch(second, { method: 'PATCH', headers: { 'content-range': '0-4' }, body: 'hello' });
    const digest = await sha256('hello, world');
    const done = await fetch(`${second}?digest=${digest}`, {
      method: 'PUT',
      headers: { 'content-range': '5-11' },
      body: ', world',
    });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
    expect(done.headers.get('location')).toBe(`/v2/app/blobs/${digest}`);
    expect(await (await fetch(`${server.url}/v2/app/blobs/${digest}`)).text()).toBe('hello, world');
    expect((await fetch(second)).status).toBe(404);
  });

  it('takes a monolithic POST, cancels sessions, and mounts across repositories', async () => {
    const server = await start();
    const digest = await sha256('whole');
    const posted = await fetch(`${server.url}/v2/a/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'whole',
    });
    expect(posted.status).toBe(201);

    const session = await fetch(`${server.url}/v2/a/blobs/uploads/`, { method: 'POST' });
    const location = new URL(session.headers.get('location') as string, server.url).toString();
    expect((await fetch(location, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(location)).status).toBe(404);

    const mounted = await fetch(`${server.url}/v2/b/blobs/uploads/?mount=${digest}&from=a`, {
      method: 'POST',
    });
    expect(mounted.status).toBe(201);
    expect(await (await fetch(`${server.url}/v2/b/blobs/${digest}`)).text()).toBe('whole');
    // Automatic content discovery (no `from`), on by default without auth.
    const discovered = await fetch(`${server.url}/v2/c/blobs/uploads/?mount=${digest}`, { method: 'POST' });
    expect(discovered.status).toBe(201);
    // A blob nowhere: a new session instead.
    const unknown = await fetch(`${server.url}/v2/b/blobs/uploads/?mount=${await sha256('nothing')}&from=a`, {
      method: 'POST',
    });
    expect(unknown.status).toBe(202);
  });

  it('checks pushed manifests: blobs present, digest matching, size limited, schema 1 refused', async () => {
    const server = await start({ limits: { maxManifestSize: 4096 } });
    const image = await fakeImage('checked');
    const put = (reference: string, body: string, type: string = MediaTypes.OciManifest) =>
      fetch(`${server.url}/v2/app/manifests/${reference}`, {
        method: 'PUT',
        headers: { 'content-type': type },
        body,
      });

    const missing = await put('v1', new TextDecoder().decode(image.manifest.raw));
    expect(missing.status).toBe(400);
    expect((await missing.json()).errors[0]).toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });

    await writeRegistry(`${server.host}/app:v1`, image, client());
    const wrongDigest = await put(await sha256('x'), new TextDecoder().decode(image.manifest.raw));
    expect(wrongDigest.status).toBe(400);
    expect((await wrongDigest.json()).errors[0].code).toBe('DIGEST_INVALID');
    const byDigest = await put(nodeDigest(image), new TextDecoder().decode(image.manifest.raw));
    expect(byDigest.status).toBe(201);

    const invalid = await put('v2', '{"schemaVersion":2,"layers":"no"}');
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).errors[0].code).toBe('MANIFEST_INVALID');
    const tooBig = await put('v3', JSON.stringify({ padding: 'x'.repeat(5000) }));
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).errors[0].code).toBe('SIZE_INVALID');
    const schema1 = await put(
      'v4',
      JSON.stringify({
        schemaVersion: 1,
        name: 'app',
        tag: 'v4',
        architecture: 'amd64',
        fsLayers: [],
        history: [],
      }),
      MediaTypes.DockerSchema1Manifest,
    );
    expect(schema1.status).toBe(400);
  });

  it('lists tags and the catalog in pages with Link headers', async () => {
    const server = await start();
    for (const tag of ['b', 'a', 'c']) await pushed(server, 'paged', tag);
    await pushed(server, 'other', 'v1');
    const first = await fetch(`${server.url}/v2/paged/tags/list?n=2`);
    expect(await first.json()).toEqual({ name: 'paged', tags: ['a', 'b'] });
    expect(first.headers.get('link')).toBe('</v2/paged/tags/list?n=2&last=b>; rel="next"');
    const second = await fetch(`${server.url}/v2/paged/tags/list?n=2&last=b`);
    expect(await second.json()).toEqual({ name: 'paged', tags: ['c'] });
    expect(second.headers.get('link')).toBeNull();
    expect((await fetch(`${server.url}/v2/paged/tags/list?n=x`)).status).toBe(400);
    expect((await fetch(`${server.url}/v2/nothing/tags/list`)).status).toBe(404);
    const catalog = await fetch(`${server.url}/v2/_catalog?n=1`);
    expect(await catalog.json()).toEqual({ repositories: ['other'] });
    expect(catalog.headers.get('link')).toBe('</v2/_catalog?n=1&last=other>; rel="next"');
  });

  it('lists referrers, filters them by artifactType, and answers OCI-Subject', async () => {
    const server = await start();
    const image = await pushed(server);
    const subject = nodeDigest(image);
    const empty = text('{}');
    const emptyDigest = await sha256(empty);
    await fetch(`${server.url}/v2/app/blobs/uploads/?digest=${emptyDigest}`, { method: 'POST', body: empty });
    const artifact = (artifactType: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.OciManifest,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }],
        subject: {
          mediaType: image.manifest.mediaType,
          digest: subject,
          size: image.manifest.raw.byteLength,
        },
      });
    for (const type of ['application/example.sbom', 'application/example.signature']) {
      const body = artifact(type);
      const put = await fetch(`${server.url}/v2/app/manifests/${await sha256(body)}`, {
        method: 'PUT',
        headers: { 'content-type': MediaTypes.OciManifest },
        body,
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('oci-subject')).toBe(subject);
    }
    const all = await fetch(`${server.url}/v2/app/referrers/${subject}`);
    expect(all.headers.get('content-type')).toBe(MediaTypes.OciIndex);
    expect(
      (await all.json()).manifests.map((entry: { artifactType: string }) => entry.artifactType).sort(),
    ).toEqual(['application/example.sbom', 'application/example.signature']);
    const filtered = await fetch(
      `${server.url}/v2/app/referrers/${subject}?artifactType=application/example.sbom`,
    );
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect((await filtered.json()).manifests).toHaveLength(1);
    const listed = await client().listReferrers(`${server.host}/app`, subject);
    expect(listed).toHaveLength(2);

    // Deleting a referrer takes it off the list.
    const sbom = await sha256(artifact('application/example.sbom'));
    expect((await fetch(`${server.url}/v2/app/manifests/${sbom}`, { method: 'DELETE' })).status).toBe(202);
    expect((await (await fetch(`${server.url}/v2/app/referrers/${subject}`)).json()).manifests).toHaveLength(
      1,
    );
  });

  it('deletes a tag, a manifest with its tags, and a blob link', async () => {
    const server = await start();
    const image = await pushed(server, 'app', 'v1');
    await writeRegistry(`${server.host}/app:v2`, image, client());
    const digest = nodeDigest(image);
    expect((await fetch(`${server.url}/v2/app/manifests/v1`, { method: 'DELETE' })).status).toBe(202);
    expect((await fetch(`${server.url}/v2/app/manifests/v1`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2/app/manifests/v2`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/app/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await fetch(`${server.url}/v2/app/manifests/v2`)).status).toBe(404);
    const layer = layersOf(image)[0]?.digest as string;
    expect((await fetch(`${server.url}/v2/app/blobs/${layer}`, { method: 'DELETE' })).status).toBe(202);
    expect((await fetch(`${server.url}/v2/app/blobs/${layer}`)).status).toBe(404);
  });

  it('refuses bad names, digests and methods with spec errors', async () => {
    const server = await start();
    const bad = await fetch(`${server.url}/v2/Bad/tags/list`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].code).toBe('NAME_INVALID');
    const digest = await fetch(`${server.url}/v2/app/blobs/sha256:nothex`);
    expect(digest.status).toBe(400);
    expect((await digest.json()).errors[0].code).toBe('DIGEST_INVALID');
    const method = await fetch(`${server.url}/v2/app/tags/list`, { method: 'POST' });
    expect(method.status).toBe(405);
    expect((await fetch(`${server.url}/v2/app/nothing`)).status).toBe(404);
  });

  it('refuses pushes in read-only mode and serves what it has', async () => {
    const store = createMemoryStore();
    const writable = await start({ store });
    await pushed(writable);
    const readOnly = await start({ store, readOnly: true });
    expect((await fetch(`${readOnly.url}/v2/app/manifests/v1`)).status).toBe(200);
    const post = await fetch(`${readOnly.url}/v2/app/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect((await post.json()).errors[0].code).toBe('UNSUPPORTED');
  });

  it('keeps upload sessions across a restart on the filesystem store, and expires idle ones', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stevedore-server-'));
    const first = await start({ store: root });
    const session = await fetch(`${first.url}/v2/app/blobs/uploads/`, { method: 'POST' });
    const path = session.headers.get('location') as string;
    await fetch(new URL(path, first.url), {
      method: 'PATCH',
      headers: { 'content-range': '0-4' },
      body: 'hello',
    });
    await first.close();

    const second = await start({ store: root });
    const status = await fetch(new URL(path, second.url));
    expect(status.headers.get('range')).toBe('0-4');
    const digest = await sha256('hello!');
    const done = await fetch(new URL(`${path}?digest=${digest}`, second.url), {
      method: 'PUT',
      headers: { 'content-range': '5-5' },
      body: '!',
    });
    expect(done.status).toBe(201);

    const third = await start({ store: root, limits: { uploadIdleTimeout: 1 } });
    const idle = await fetch(`${third.url}/v2/app/blobs/uploads/`, { method: 'POST' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await third.handler.expireUploads();
    expect((await fetch(new URL(idle.headers.get('location') as string, third.url))).status).toBe(404);
  });

  it('refuses a non-loopback address without auth', async () => {
    await expect(startServer({ store: createMemoryStore(), host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'ERR_SERVER_OPTIONS',
    });
  });
});
