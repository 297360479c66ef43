import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { manifestDigest } from '@stevedore/manifest';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistryDestination, RegistryClient, type RegistryEvent } from './index.ts';

const manifest = new TextEncoder().encode(
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
);
const ociManifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
const blob = new TextEncoder().encode('layer bytes');
const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

type Handler = (request: IncomingMessage, response: ServerResponse, url: URL) => void;
const servers: Server[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function serve(handler: Handler): Promise<string> {
  const server = createServer((request, response) =>
    handler(request, response, new URL(request.url ?? '/', 'http://x')),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}) {
  const made = new RegistryClient({ credentials: async () => undefined, ...options });
  clients.push(made);
  return made;
}

function sendManifest(response: ServerResponse, bytes = manifest) {
  response.writeHead(200, {
    'content-type': 'application/vnd.oci.image.manifest.v1+json',
    'docker-content-digest': ociManifestDigest,
    'content-length': bytes.length,
  });
  response.end(bytes);
}

/**
 * A registry's upload endpoints in memory (sessions, PATCH with Content-Range checks, PUT
 * with the digest checked, GET of a session's status) behind a "proxy" that lets bodies of
 * at most `limit` bytes through: bigger ones get a 413, or the connection closed unread
 * (`cut`). `cutOnce` cuts one PATCH at session offset `at` after `keep` of its bytes.
 */
async function uploadRegistry(options: {
  readonly limit: number;
  readonly tooBig: '413' | 'cut';
  readonly cutOnce?: { readonly at: number; readonly keep: number };
}): Promise<{ registry: string; seen: string[] }> {
  const seen: string[] = [];
  const sessions = new Map<string, Buffer[]>();
  let cutOnce = options.cutOnce;
  const registry = await serve((request, response, url) => {
    const length = Number(request.headers['content-length'] ?? 0);
    seen.push(`${request.method} ${length} ${request.headers['content-range'] ?? ''}`.trim());
    if (length > options.limit) {
      if (options.tooBig === 'cut') return void request.socket.destroy();
      request.resume();
      response.writeHead(413);
      return response.end();
    }
    if (request.method === 'POST') {
      const id = `s${sessions.size}`;
      sessions.set(id, []);
      response.writeHead(202, { location: `/v2/app/blobs/uploads/${id}` });
      return response.end();
    }
    const id = url.pathname.split('/').at(-1) ?? '';
    const session = sessions.get(id) ?? [];
    const received = session.reduce((sum, part) => sum + part.length, 0);
    if (request.method === 'GET') {
      response.writeHead(204, { range: `0-${Math.max(0, received - 1)}`, 'content-length': 0 });
      return response.end();
    }
    const cut = request.method === 'PATCH' && cutOnce?.at === received ? cutOnce : undefined;
    const parts: Buffer[] = [];
    let kept = 0;
    request.on('data', (part: Buffer) => {
      if (cut === undefined) return void parts.push(part);
      // The registry keeps what it read before the connection broke.
      const keep = part.subarray(0, Math.max(0, cut.keep - kept));
      kept += keep.length;
      session.push(keep);
      if (kept >= cut.keep) {
        cutOnce = undefined;
        request.socket.destroy();
      }
    });
    request.on('end', () => {
      const range = /^(\d+)-(\d+)$/.exec(String(request.headers['content-range'] ?? ''));
      if (request.method === 'PATCH' && range !== null && Number(range[1]) !== received) {
        response.writeHead(416);
        return response.end();
      }
      session.push(...parts);
      if (request.method === 'PATCH') {
        response.writeHead(202, { location: `/v2/app/blobs/uploads/${id}` });
        return response.end();
      }
      const whole = Buffer.concat(session);
      const ok =
        `sha256:${createHash('sha256').update(whole).digest('hex')}` === url.searchParams.get('digest');
      response.writeHead(ok ? 201 : 400);
      response.end();
    });
  });
  return { registry, seen };
}

describe('RegistryClient', () => {
  it('gets a Bearer token for the pull scope, caches it, and reads manifests, blobs and tags', async () => {
    const tokenRequests: string[] = [];
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        tokenRequests.push(url.search);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ token: 'T1', expires_in: 300 }));
        return;
      }
      if (request.headers.authorization !== 'Bearer T1') {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${registry}/token",service="test",scope="repository:team/app:pull"`,
          'content-type': 'application/json',
        });
        response.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      if (url.pathname === '/v2/team/app/manifests/v1') return sendManifest(response);
      if (url.pathname === `/v2/team/app/blobs/${blobDigest}`) {
        response.writeHead(200);
        response.end(blob);
        return;
      }
      if (url.pathname === '/v2/team/app/tags/list') {
        const last = url.searchParams.get('last');
        const page = last === null ? ['a', 'b'] : ['c'];
        response.writeHead(200, {
          'content-type': 'application/json',
          ...(last === null ? { link: '</v2/team/app/tags/list?last=b&n=2>; rel="next"' } : {}),
        });
        response.end(JSON.stringify({ name: 'team/app', tags: page }));
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    const registryClient = client();
    const got = await registryClient.getManifest(`${registry}/team/app:v1`);
    expect(got).toEqual({
      bytes: manifest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: ociManifestDigest,
    });
    const chunks: Uint8Array[] = [];
    for await (const chunk of await registryClient.getBlob(`${registry}/team/app`, {
      mediaType: 'x',
      digest: blobDigest,
      size: blob.length,
    }))
      chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('layer bytes');
    expect(await registryClient.listTags(`${registry}/team/app`, { pageSize: 2 })).toEqual(['a', 'b', 'c']);
    expect(tokenRequests).toEqual(['?service=test&scope=repository%3Ateam%2Fapp%3Apull']); // once, then cached
    await expect(registryClient.getManifest(`${registry}/team/app:nope`)).rejects.toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 404,
      registryCode: 'MANIFEST_UNKNOWN',
    });
    expect(await registryClient.headManifest(`${registry}/team/app:nope`)).toBeUndefined();
  });

  it('answers Basic challenges with the credentials, and names the registry on a 401 without them', async () => {
    const registry = await serve((request, response, url) => {
      if (request.headers.authorization !== `Basic ${Buffer.from('me:pw').toString('base64')}`) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="Registry"' });
        response.end();
        return;
      }
      if (url.pathname === '/v2/app/manifests/v1') return sendManifest(response);
      response.writeHead(404);
      response.end();
    });
    const withCredentials = client({ credentials: async () => ({ username: 'me', password: 'pw' }) });
    expect((await withCredentials.getManifest(`${registry}/app:v1`)).digest).toBe(ociManifestDigest);
    await expect(client().getManifest(`${registry}/app:v1`)).rejects.toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 401,
      message: expect.stringContaining('log in'),
    });
  });

  it('retries a refused login anonymously, as docker does on a pull', async () => {
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        const refused = request.headers.authorization !== undefined;
        response.writeHead(refused ? 401 : 200, { 'content-type': 'application/json' });
        response.end(refused ? '{}' : '{"access_token":"anonymous"}');
        return;
      }
      if (request.headers.authorization !== 'Bearer anonymous') {
        response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry}/token"` });
        response.end();
        return;
      }
      sendManifest(response);
    });
    const stale = client({ credentials: async () => ({ username: 'old', password: 'wrong' }) });
    expect((await stale.getManifest(`${registry}/library/app:v1`)).digest).toBe(ociManifestDigest);
  });

  it('follows blob redirects to another origin without the Authorization header', async () => {
    const seen: Array<string | undefined> = [];
    const storage = await serve((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200);
      response.end(blob);
    });
    const registry = await serve((request, response) => {
      if (request.headers.authorization === undefined) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        response.end();
        return;
      }
      response.writeHead(307, { location: `http://${storage}/bucket/object?signature=s` });
      response.end();
    });
    const registryClient = client({ credentials: async () => ({ username: 'u', password: 'p' }) });
    const stream = await registryClient.getBlob(`${registry}/app`, {
      mediaType: 'x',
      digest: blobDigest,
      size: blob.length,
    });
    let text = '';
    for await (const chunk of stream) text += Buffer.from(chunk).toString();
    expect(text).toBe('layer bytes');
    expect(seen).toEqual([undefined]);
  });

  it('refuses a manifest whose bytes are not the digest the registry states', async () => {
    const registry = await serve((_request, response) =>
      sendManifest(response, new TextEncoder().encode('{"other":1}')),
    );
    await expect(client().getManifest(`${registry}/app:v1`)).rejects.toMatchObject({
      code: 'ERR_DIGEST_MISMATCH',
    });
  });

  it('uses HTTPS except for loopback and registries marked insecure', () => {
    const registryClient = client({ insecure: ['registry.lan:5000'] });
    expect(registryClient.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(registryClient.baseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(registryClient.baseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryClient.baseUrl('127.0.0.2:80')).toBe('http://127.0.0.2:80');
    expect(registryClient.baseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryClient.baseUrl('registry.lan:5000')).toBe('http://registry.lan:5000');
  });

  it('retries idempotent requests after 5xx, 429 (honouring Retry-After) and dropped connections', async () => {
    let calls = 0;
    const registry = await serve((request, response) => {
      calls++;
      if (calls === 1) return request.socket.destroy(); // a dropped connection
      if (calls === 2) {
        response.writeHead(503);
        return response.end();
      }
      if (calls === 3) {
        response.writeHead(429, { 'retry-after': '1' });
        return response.end();
      }
      sendManifest(response);
    });
    const events: RegistryEvent[] = [];
    const retrying = client({ retryDelay: 5, onEvent: (event) => events.push(event) });
    expect((await retrying.getManifest(`${registry}/app:v1`)).digest).toBe(ociManifestDigest);
    const retries = events.filter((event) => event.type === 'retry');
    expect(retries.map((event) => [event.attempt, event.reason.slice(0, 3)])).toEqual([
      [1, 'GET'],
      [2, '503'],
      [3, '429'],
    ]);
    expect(retries[2]?.delayMs).toBe(1000); // Retry-After: 1
    // Every answer is told too, with its status: 503, 429, then the manifest.
    expect(events.filter((event) => event.type === 'response').map((event) => event.status)).toEqual([
      503, 429, 200,
    ]);
  });

  it('gives up after `retries`, keeping the last status, and never retries an upload session', async () => {
    let posts = 0;
    const registry = await serve((request, response) => {
      if (request.method === 'POST') posts++;
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
    });
    const events: RegistryEvent[] = [];
    const retrying = client({ retries: 2, retryDelay: 1, onEvent: (event) => events.push(event) });
    await expect(retrying.getManifest(`${registry}/app:v1`)).rejects.toMatchObject({
      status: 503,
      registryCode: 'UNAVAILABLE',
    });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(2);
    await expect(
      retrying.putBlob(`${registry}/app`, { mediaType: 'x', digest: blobDigest, size: blob.length }, blob),
    ).rejects.toMatchObject({ status: 503 });
    expect(posts).toBe(1);
  });

  it('pushes a blob in one streamed PUT after opening a session, and a manifest by tag', async () => {
    const seen: string[] = [];
    let uploaded = Buffer.alloc(0);
    const registry = await serve((request, response, url) => {
      seen.push(`${request.method} ${url.pathname}${url.search}`);
      if (request.method === 'HEAD') {
        response.writeHead(404);
        return response.end();
      }
      if (request.method === 'POST') {
        response.writeHead(202, { location: '/v2/app/blobs/uploads/session-1?state=s' });
        return response.end();
      }
      const parts: Buffer[] = [];
      request.on('data', (part: Buffer) => parts.push(part));
      request.on('end', () => {
        if (url.pathname.includes('/blobs/uploads/')) uploaded = Buffer.concat(parts);
        response.writeHead(201);
        response.end();
      });
    });
    const pusher = client();
    const descriptor = { mediaType: 'x', digest: blobDigest, size: blob.length };
    expect(await pusher.hasBlob(`${registry}/app`, descriptor)).toBe(false);
    async function* stream() {
      yield blob.subarray(0, 4);
      yield blob.subarray(4);
    }
    await pusher.putBlob(`${registry}/app`, descriptor, stream());
    expect(uploaded.toString()).toBe('layer bytes');
    await pusher.putManifest(`${registry}/app:v1`, {
      bytes: manifest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: ociManifestDigest,
    });
    expect(seen).toEqual([
      `HEAD /v2/app/blobs/${blobDigest}`,
      'POST /v2/app/blobs/uploads/',
      `PUT /v2/app/blobs/uploads/session-1?state=s&digest=${encodeURIComponent(blobDigest)}`,
      'PUT /v2/app/manifests/v1',
    ]);
  });

  it('uploads a blob file through reused buffers, over HTTP, with every byte intact and counted', async () => {
    const bytes = new Uint8Array(randomBytes(6 * 1024 * 1024 + 12345)); // the 4-buffer ring wraps
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const dir = await mkdtemp(join(tmpdir(), 'stevedore-upload-'));
    const path = join(dir, 'blob');
    await writeFile(path, bytes);
    let received = '';
    let receivedBytes = 0;
    const registry = await serve((request, response) => {
      if (request.method === 'POST') {
        response.writeHead(202, { location: '/v2/app/blobs/uploads/session-1' });
        return response.end();
      }
      const hash = createHash('sha256');
      // Read slowly, so the socket fills and the client must wait for 'drain'.
      request.on('data', (part: Buffer) => {
        hash.update(part);
        receivedBytes += part.length;
        request.pause();
        setTimeout(() => request.resume(), 1);
      });
      request.on('end', () => {
        received = `sha256:${hash.digest('hex')}`;
        response.writeHead(201);
        response.end();
      });
    });
    const counted: number[] = [];
    try {
      const destination = openRegistryDestination(`${registry}/app`, client());
      await destination.putBlobFile?.({ mediaType: 'x', digest, size: bytes.length }, path, {
        onBytes: (done) => counted.push(done),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(receivedBytes).toBe(bytes.length);
    expect(received).toBe(digest);
    expect(counted.at(-1)).toBe(bytes.length);
    expect(counted.length).toBeGreaterThan(4);
  });

  it('mounts a blob from another repository with a token for both, and says when it could not', async () => {
    const scopes: string[] = [];
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        scopes.push(url.searchParams.getAll('scope').join(' '));
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end('{"token":"T"}');
      }
      if (request.headers.authorization !== 'Bearer T') {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${registry}/token",service="s"`,
        });
        return response.end();
      }
      const from = url.searchParams.get('from');
      response.writeHead(from === 'team/base' ? 201 : from === 'team/other' ? 202 : 403, {
        location: '/v2/team/app/blobs/uploads/x',
      });
      response.end();
    });
    const mounting = client();
    const descriptor = { mediaType: 'x', digest: blobDigest, size: blob.length };
    expect(await mounting.mountBlob(`${registry}/team/app`, descriptor, 'team/base')).toBe(true);
    expect(scopes).toEqual(['repository:team/app:pull,push repository:team/base:pull']);
    expect(await mounting.mountBlob(`${registry}/team/app`, descriptor, 'team/other')).toBe(false);
    expect(await mounting.mountBlob(`${registry}/team/app`, descriptor, 'team/forbidden')).toBe(false);
  });

  it('lists referrers from the API (filtered here unless the registry says it did), or from the tag schema', async () => {
    const subject = `sha256:${'b'.repeat(64)}`;
    const entries = [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: ociManifestDigest,
        size: 10,
        artifactType: 'a/sig',
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: blobDigest,
        size: 11,
        artifactType: 'a/sbom',
      },
    ];
    let api = true;
    let filters = false;
    const registry = await serve((_request, response, url) => {
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: entries,
      });
      if (url.pathname === `/v2/app/referrers/${subject}` && api) {
        response.writeHead(200, {
          'content-type': 'application/vnd.oci.image.index.v1+json',
          ...(filters ? { 'oci-filters-applied': 'artifactType' } : {}),
        });
        return response.end(index);
      }
      if (url.pathname === `/v2/app/manifests/sha256-${'b'.repeat(64)}` && !api) {
        response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        return response.end(index);
      }
      response.writeHead(404);
      response.end();
    });
    const lister = client();
    expect(await lister.listReferrers(`${registry}/app`, subject)).toEqual(entries);
    expect(await lister.listReferrers(`${registry}/app`, subject, { artifactType: 'a/sbom' })).toEqual([
      entries[1],
    ]);
    filters = true; // the registry filtered: its answer is taken as it is
    expect(await lister.listReferrers(`${registry}/app`, subject, { artifactType: 'a/sbom' })).toEqual(
      entries,
    );
    api = false; // no referrers API: the sha256-<hex> tag
    expect(await lister.listReferrers(`${registry}/app`, subject, { artifactType: 'a/sig' })).toEqual([
      entries[0],
    ]);
    expect(await lister.listReferrers(`${registry}/app`, `sha256:${'c'.repeat(64)}`)).toEqual([]);
  });

  it('reads every page of the referrers API, following Link headers', async () => {
    const subject = `sha256:${'b'.repeat(64)}`;
    const entry = (n: number) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${String(n).repeat(64)}`,
      size: n,
      artifactType: 'a/sig',
    });
    const asked: string[] = [];
    const registry = await serve((request, response, url) => {
      asked.push(request.url ?? '');
      const last = url.searchParams.get('last');
      const page = last === null ? [entry(1), entry(2)] : [entry(3)];
      response.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        ...(last === null
          ? { link: `</v2/team/referrers/referrers/${subject}?n=2&last=2>; rel="next"` }
          : {}),
      });
      response.end(JSON.stringify({ schemaVersion: 2, manifests: page }));
    });
    expect(await client().listReferrers(`${registry}/team/referrers`, subject)).toEqual([
      entry(1),
      entry(2),
      entry(3),
    ]);
    expect(asked).toEqual([
      `/v2/team/referrers/referrers/${subject}`,
      `/v2/team/referrers/referrers/${subject}?n=2&last=2`,
    ]);
  });

  it('keeps the referrers tag of a subject up to date where a registry lacks the referrers API', async () => {
    const subject = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: ociManifestDigest,
      size: 76,
    };
    const referrer = (artifactType: string) => {
      const bytes = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: blobDigest, size: blob.length },
          layers: [],
          subject,
        }),
      );
      return { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    };
    const stored = new Map<string, { bytes: Buffer; type: string }>();
    let referrersApi = false;
    const registry = await serve((request, response, url) => {
      const name = url.pathname.replace('/v2/app/manifests/', '');
      if (request.method === 'PUT') {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          stored.set(name, { bytes: Buffer.concat(chunks), type: String(request.headers['content-type']) });
          response.writeHead(201, referrersApi ? { 'oci-subject': subject.digest } : {});
          response.end();
        });
        return;
      }
      const found = stored.get(name);
      if (found === undefined) {
        response.writeHead(404, { 'content-type': 'application/json' });
        return response.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
      }
      response.writeHead(200, { 'content-type': found.type });
      response.end(found.bytes);
    });
    const pusher = client();
    const tag = `sha256-${ociManifestDigest.slice(7)}`;
    const signature = referrer('a/sig');
    const sbom = referrer('a/sbom');
    const digestOf = async (bytes: Uint8Array) => (await manifestDigest(bytes)).toString();
    // Two referrers pushed at once: both end up listed (one update at a time).
    await Promise.all(
      [signature, sbom].map(async (manifest) =>
        pusher.putManifest(`${registry}/app@${await digestOf(manifest.bytes)}`, {
          ...manifest,
          digest: await digestOf(manifest.bytes),
        }),
      ),
    );
    const listed = await pusher.listReferrers(`${registry}/app`, ociManifestDigest);
    expect(listed.map((entry) => entry.artifactType).sort()).toEqual(['a/sbom', 'a/sig']);
    expect(listed.find((entry) => entry.artifactType === 'a/sig')).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: await digestOf(signature.bytes),
      size: signature.bytes.length,
      artifactType: 'a/sig',
    });
    expect(stored.get(tag)?.type).toBe('application/vnd.oci.image.index.v1+json');
    // Pushed again: already listed, the tag is not rewritten.
    const before = stored.get(tag);
    await pusher.putManifest(`${registry}/app@${await digestOf(signature.bytes)}`, {
      ...signature,
      digest: await digestOf(signature.bytes),
    });
    expect(stored.get(tag)).toBe(before);
    // A referrers tag the registry refuses: the manifest is stored, and the error says so.
    const refusing = await serve((request, response, url) => {
      if (request.method === 'PUT' && url.pathname.includes('/manifests/sha256-')) {
        response.writeHead(403, { 'content-type': 'application/json' });
        return response.end('{"errors":[{"code":"DENIED","message":"no"}]}');
      }
      request.resume();
      response.writeHead(request.method === 'PUT' ? 201 : 404);
      response.end();
    });
    const refused = referrer('a/refused');
    await expect(
      pusher.putManifest(`${refusing}/app@${await digestOf(refused.bytes)}`, {
        ...refused,
        digest: await digestOf(refused.bytes),
      }),
    ).rejects.toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 403,
      registryCode: 'DENIED',
      message: expect.stringContaining('stored, but the referrers tag'),
    });
    // A registry that answers OCI-Subject indexes referrers itself: no tag is written.
    referrersApi = true;
    stored.delete(tag);
    const other = referrer('a/other');
    await pusher.putManifest(`${registry}/app@${await digestOf(other.bytes)}`, {
      ...other,
      digest: await digestOf(other.bytes),
    });
    expect(stored.has(tag)).toBe(false);
  });

  it('loads undici on the first request, not on import', async () => {
    const registry = await serve((_request, response) => sendManifest(response));
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { if (specifier === 'undici') loaded.push(specifier); return next(specifier, context); } });
      const { RegistryClient } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)});
      const client = new RegistryClient({ credentials: async () => undefined });
      const before = loaded.length;
      await client.getManifest('${registry}/app:v1');
      console.log(JSON.stringify([before, loaded.length]));
      await client.close();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual([0, 1]);
  });

  it('keeps the connection open after a HEAD (undici closes it unless told not to)', async () => {
    let connections = 0;
    const registry = await serve((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(200, { 'content-length': blob.length });
        return response.end();
      }
      sendManifest(response);
    });
    const server = servers.at(-1);
    server?.on('connection', () => connections++);
    const asking = client();
    const descriptor = { mediaType: 'x', digest: blobDigest, size: blob.length };
    for (let ask = 0; ask < 5; ask++) expect(await asking.hasBlob(`${registry}/app`, descriptor)).toBe(true);
    await asking.getManifest(`${registry}/app:v1`);
    expect(connections).toBeLessThanOrEqual(2); // 6 when each HEAD closes its connection
  });

  it('keeps at most `concurrencyPerHost` requests to one host waiting for an answer', async () => {
    let inFlight = 0;
    let most = 0;
    const registry = await serve((_request, response) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        sendManifest(response);
      }, 20);
    });
    const limited = client({ concurrencyPerHost: 2 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => limited.getManifest(`${registry}/app:v1`)),
    );
    expect(answers.map((answer) => answer.digest)).toEqual(Array(6).fill(ociManifestDigest));
    expect(most).toBe(2);
  });

  it('gives a failing host at most `retryBudget` retries in a row, refilled once it answers well', async () => {
    let healthy = false;
    const registry = await serve((_request, response) => {
      if (healthy) return sendManifest(response);
      response.writeHead(503);
      response.end();
    });
    const events: RegistryEvent[] = [];
    const budgeted = client({
      retries: 2,
      retryBudget: 3,
      retryDelay: 1,
      onEvent: (event) => events.push(event),
    });
    await expect(budgeted.getManifest(`${registry}/app:v1`)).rejects.toMatchObject({ status: 503 });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(2);
    await expect(budgeted.getManifest(`${registry}/app:v1`)).rejects.toMatchObject({ status: 503 });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(3); // one retry left of the budget
    await expect(budgeted.getManifest(`${registry}/app:v1`)).rejects.toMatchObject({ status: 503 });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(3); // none left: failures are final
    healthy = true;
    expect((await budgeted.getManifest(`${registry}/app:v1`)).digest).toBe(ociManifestDigest);
    healthy = false;
    await expect(budgeted.getManifest(`${registry}/app:v1`)).rejects.toMatchObject({ status: 503 });
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(5); // refilled: the full `retries` again
  });

  it('lists a registry catalog page after page with the registry:catalog:* scope', async () => {
    const scopes: string[] = [];
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        scopes.push(url.searchParams.get('scope') ?? '');
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end('{"token":"C"}');
      }
      if (request.headers.authorization !== 'Bearer C') {
        response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry}/token"` });
        return response.end();
      }
      const last = url.searchParams.get('last');
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(last === null ? { link: '</v2/_catalog?last=b%2Fx&n=2>; rel="next"' } : {}),
      });
      response.end(JSON.stringify({ repositories: last === null ? ['a', 'b/x'] : ['c'] }));
    });
    expect(await client().listRepositories(registry, { pageSize: 2 })).toEqual(['a', 'b/x', 'c']);
    expect(scopes).toEqual(['registry:catalog:*']);
  });

  it('asks for pages of at most 1000 entries', async () => {
    const sizes: Array<string | null> = [];
    const registry = await serve((_request, response, url) => {
      sizes.push(url.searchParams.get('n'));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ tags: ['v1'] }));
    });
    const lister = client();
    for (const pageSize of [5000, undefined, 0, 10]) {
      expect(await lister.listTags(`${registry}/app`, pageSize === undefined ? {} : { pageSize })).toEqual([
        'v1',
      ]);
    }
    expect(sizes).toEqual(['1000', '1000', '1000', '10']);
  });

  it('resumes a blob with Range after the connection drops mid-body, and skips what a 200 repeats', async () => {
    const big = new Uint8Array(300_000).map((_, index) => (index * 7) % 256);
    const digest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
    const ranges: Array<string | undefined> = [];
    let ignoreRange = false;
    const registry = await serve((request, response) => {
      ranges.push(request.headers.range);
      if (ranges.length === 1) {
        // Half the body, then the connection drops.
        response.writeHead(200, { 'content-length': big.length });
        response.write(big.subarray(0, 150_000), () => setTimeout(() => request.socket.destroy(), 20));
        return;
      }
      const from = Number(/bytes=(\d+)-/.exec(request.headers.range ?? '')?.[1] ?? 0);
      if (ignoreRange) {
        response.writeHead(200, { 'content-length': big.length });
        return response.end(big);
      }
      response.writeHead(206, { 'content-range': `bytes ${from}-${big.length - 1}/${big.length}` });
      response.end(big.subarray(from));
    });
    const events: RegistryEvent[] = [];
    const reader = client({ onEvent: (event) => events.push(event) });
    const read = async () => {
      const parts: Uint8Array[] = [];
      for await (const chunk of await reader.getBlob(`${registry}/app`, {
        mediaType: 'x',
        digest,
        size: big.length,
      }))
        parts.push(chunk);
      return new Uint8Array(Buffer.concat(parts));
    };
    expect(await read()).toEqual(big);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1] ?? '')?.[0])).toBeGreaterThan(0);
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(1);
    ranges.length = 0;
    ignoreRange = true; // a registry without Range support sends it all again
    expect(await read()).toEqual(big);
  });

  it('reads a big blob into reused buffers for a reader that allows it: auth, redirect, Range resume', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
    const storageSaw: Array<{ authorization?: string; range?: string }> = [];
    const storage = await serve((request, response) => {
      storageSaw.push({
        ...(request.headers.authorization === undefined
          ? {}
          : { authorization: request.headers.authorization }),
        ...(request.headers.range === undefined ? {} : { range: request.headers.range }),
      });
      if (storageSaw.length === 1) {
        response.writeHead(200, { 'content-length': big.length });
        response.write(big.subarray(0, 1024 * 1024), () => setTimeout(() => request.socket.destroy(), 20));
        return;
      }
      const from = Number(/bytes=(\d+)-/.exec(request.headers.range ?? '')?.[1] ?? 0);
      response.writeHead(206, {
        'content-range': `bytes ${from}-${big.length - 1}/${big.length}`,
        'content-length': big.length - from,
      });
      response.end(big.subarray(from));
    });
    const registry = await serve((request, response) => {
      if (request.headers.authorization === undefined) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="r"', 'content-length': 0 });
        response.end();
        return;
      }
      response.writeHead(307, { location: `http://${storage}/bucket/object`, 'content-length': 0 });
      response.end();
    });
    const events: RegistryEvent[] = [];
    const reader = client({
      credentials: async () => ({ username: 'u', password: 'p' }),
      onEvent: (event) => events.push(event),
    });
    const descriptor = { mediaType: 'x', digest, size: big.length };
    const memory = new Set<ArrayBufferLike>();
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await reader.getBlob(`${registry}/app`, descriptor, {
      transientChunks: true,
    })) {
      memory.add(chunk.buffer);
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
    expect(bytes).toBe(big.length);
    expect(`sha256:${hash.digest('hex')}`).toBe(digest);
    expect(storageSaw[0]).toEqual({});
    expect(storageSaw[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(storageSaw.every((seen) => seen.authorization === undefined)).toBe(true);
    expect(events.filter((event) => event.type === 'retry')).toHaveLength(1);
    // Two connections' worth of reused buffers (and a head's leftover each), not a buffer per read.
    expect(memory.size).toBeLessThanOrEqual(2 * 8 + 2);
  });

  it('sends a blob again in chunks after a 413, halving chunks the proxy still refuses', async () => {
    const big = new Uint8Array(300_000).map((_, index) => (index * 13) % 251);
    const digest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
    const { registry, seen } = await uploadRegistry({ limit: 100_000, tooBig: '413' });
    const pusher = client({ chunkSize: 131_072 });
    const descriptor = { mediaType: 'x', digest, size: big.length };
    async function* stream() {
      for (let offset = 0; offset < big.length; offset += 50_000) yield big.subarray(offset, offset + 50_000);
    }
    let reopened = 0;
    await pusher.putBlob(`${registry}/app`, descriptor, stream(), {
      reopen: async () => {
        reopened++;
        return stream();
      },
    });
    expect(reopened).toBe(1);
    expect(seen).toEqual([
      'POST 0',
      'PATCH 300000', // one streamed PATCH: refused
      'POST 0',
      'PATCH 131072 0-131071', // still too big: halved
      'PATCH 65536 0-65535',
      'PATCH 65536 65536-131071',
      'PATCH 65536 131072-196607',
      'PATCH 65536 196608-262143',
      'PATCH 37856 262144-299999',
      'PUT 0',
    ]);
    // The registry is remembered: the next blob goes in chunks of the size that worked.
    seen.length = 0;
    await pusher.putBlob(`${registry}/app`, descriptor, stream());
    expect(seen[1]).toBe('PATCH 65536 0-65535');
    expect(seen.at(-1)).toBe('PUT 0');
  });

  it('takes a connection cut while sending as a refusal, and resumes a chunk from what the registry kept', async () => {
    const big = new Uint8Array(300_000).map((_, index) => (index * 17) % 253);
    const digest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
    // Bodies over 100,000 bytes: the connection is closed unread. The second chunk is cut
    // after 10,000 bytes, once.
    const { registry, seen } = await uploadRegistry({
      limit: 100_000,
      tooBig: 'cut',
      cutOnce: { at: 65_536, keep: 10_000 },
    });
    const pusher = client({ chunkSize: 131_072 });
    const descriptor = { mediaType: 'x', digest, size: big.length };
    async function* stream() {
      for (let offset = 0; offset < big.length; offset += 50_000) yield big.subarray(offset, offset + 50_000);
    }
    await pusher.putBlob(`${registry}/app`, descriptor, stream(), { reopen: async () => stream() });
    expect(seen).toEqual([
      'POST 0',
      'PATCH 300000', // cut unread: taken as too large
      'POST 0',
      'PATCH 131072 0-131071', // cut unread:
      'GET 0', // the session holds nothing: halved, as after a 413
      'PATCH 65536 0-65535',
      'PATCH 65536 65536-131071', // cut after 10,000 bytes
      'GET 0', // the session holds 75,536 bytes: the rest of the chunk follows
      'PATCH 55536 75536-131071',
      'PATCH 65536 131072-196607',
      'PATCH 65536 196608-262143',
      'PATCH 37856 262144-299999',
      'PUT 0',
    ]);
  });

  it('reads a signed schema 1 manifest by the digest of its payload, as registries name it', async () => {
    const signed = new Uint8Array(
      await readFile(new URL('../../manifest/test/fixtures/schema1-signed.json', import.meta.url)),
    );
    const digest = (await manifestDigest(signed)).toString();
    const registry = await serve((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws',
        'docker-content-digest': digest,
      });
      response.end(signed);
    });
    const reader = client();
    expect((await reader.getManifest(`${registry}/library/debian:6`)).digest).toBe(digest);
    expect((await reader.getManifest(`${registry}/library/debian@${digest}`)).bytes).toEqual(signed);
  });

  it('asks for one token when concurrent requests need the same one, and looks credentials up once', async () => {
    let tokens = 0;
    let lookups = 0;
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        tokens++;
        // Slow enough that the other requests arrive while this one is pending.
        setTimeout(() => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"token":"T"}');
        }, 50);
        return;
      }
      if (request.headers.authorization !== 'Bearer T') {
        response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry}/token"` });
        return response.end();
      }
      response.writeHead(404);
      response.end();
    });
    const shared = client({
      credentials: async () => {
        lookups++;
        return { username: 'u', password: 'p' };
      },
    });
    const blobs = ['a', 'b', 'c', 'd'].map((letter) => ({
      mediaType: 'x',
      digest: `sha256:${letter.repeat(64)}`,
      size: 1,
    }));
    expect(await Promise.all(blobs.map((blob) => shared.hasBlob(`${registry}/app`, blob)))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(tokens).toBe(1);
    expect(lookups).toBe(1);
  });

  it('sends Basic credentials up front once a registry has asked for them', async () => {
    let challenges = 0;
    const registry = await serve((request, response) => {
      if (request.headers.authorization === undefined) {
        challenges++;
        response.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        return response.end();
      }
      sendManifest(response);
    });
    const basic = client({ credentials: async () => ({ username: 'u', password: 'p' }) });
    await basic.getManifest(`${registry}/a:v1`);
    await basic.getManifest(`${registry}/b:v1`);
    await basic.headManifest(`${registry}/a:v1`);
    expect(challenges).toBe(1);
  });

  it('trades an identity token for an access token with the refresh-token grant', async () => {
    const grants: string[] = [];
    let registry = '';
    registry = await serve((request, response, url) => {
      if (url.pathname === '/token') {
        let body = '';
        request.on('data', (part: Buffer) => {
          body += part.toString();
        });
        request.on('end', () => {
          grants.push(`${request.method} ${body}`);
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"access_token":"A","expires_in":300}');
        });
        return;
      }
      if (request.headers.authorization !== 'Bearer A') {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${registry}/token",service="svc"`,
        });
        return response.end();
      }
      sendManifest(response);
    });
    const refreshing = client({ credentials: async () => ({ identityToken: 'R' }) });
    expect((await refreshing.getManifest(`${registry}/app:v1`)).digest).toBe(ociManifestDigest);
    const form = new URLSearchParams(grants[0]?.slice('POST '.length));
    expect(grants[0]?.startsWith('POST ')).toBe(true);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'R',
      client_id: 'stevedore',
      scope: 'repository:app:pull',
      service: 'svc',
    });
  });

  it('asks for the manifest when a HEAD answer has no Docker-Content-Digest', async () => {
    const registry = await serve((request, response) => {
      if (request.method === 'HEAD') {
        response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        return response.end();
      }
      sendManifest(response);
    });
    expect(await client().headManifest(`${registry}/app:v1`)).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: ociManifestDigest,
      size: manifest.length,
    });
  });

  it('logs in as docker does: GET /v2/, a token for the account with no scope, and no anonymous retry', async () => {
    const { registry, tokenRequests } = await tokenRegistry();
    const alice = client({ credentials: async () => ({ username: 'alice', password: 'wonderland' }) });
    expect(await alice.login(registry)).toEqual({ scheme: 'bearer' });
    expect(tokenRequests.map(String)).toEqual(['service=svc&account=alice']);

    tokenRequests.length = 0;
    const wrong = client({ credentials: async () => ({ username: 'alice', password: 'guess' }) });
    const refused = await wrong.login(registry).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 401,
      registryCode: 'UNAUTHORIZED',
      message: `${registry} refused the credentials of user "alice" (401 UNAUTHORIZED)`,
    });
    expect((refused as Error).cause).toMatchObject({ message: expect.stringContaining('invalid password') });
    expect(tokenRequests).toHaveLength(1); // not asked again anonymously, as a pull would be

    await expect(client().login(registry)).rejects.toMatchObject({
      status: 401,
      registryCode: 'UNAUTHORIZED',
    });
  });

  it('logs in with Basic credentials, and says when a registry asks for no login', async () => {
    const good = `Basic ${Buffer.from('bob:builder').toString('base64')}`;
    const seen: Array<string | undefined> = [];
    const registry = await serve((request, response) => {
      seen.push(request.headers.authorization);
      if (request.headers.authorization !== good) {
        response.writeHead(401, {
          'www-authenticate': 'Basic realm="r"',
          'content-type': 'application/json',
        });
        return response.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
    const bob = client({ credentials: async () => ({ username: 'bob', password: 'builder' }) });
    expect(await bob.login(registry)).toEqual({ scheme: 'basic' });
    expect(seen).toEqual([undefined, good]);
    const wrong = client({ credentials: async () => ({ username: 'bob', password: 'b' }) });
    await expect(wrong.login(registry)).rejects.toMatchObject({
      status: 401,
      message: `${registry} refused the credentials of user "bob" (401 UNAUTHORIZED)`,
    });
    // An identity token is for token services: a Basic registry has nothing to check it with.
    const tokenOnly = client({ credentials: async () => ({ identityToken: 'R' }) });
    await expect(tokenOnly.login(registry)).rejects.toMatchObject({ status: 401 });

    const open = await serve((_request, response) => {
      response.writeHead(200);
      response.end('{}');
    });
    expect(await bob.login(open)).toEqual({ scheme: 'none' });

    const negotiate = await serve((_request, response) => {
      response.writeHead(401, { 'www-authenticate': 'Negotiate' });
      response.end();
    });
    await expect(bob.login(negotiate)).rejects.toMatchObject({
      status: 401,
      message: `${negotiate} asks for a login by a scheme other than Basic or Bearer (negotiate)`,
    });
  });

  it('gives a token for pull or pull,push on a repository, fresh each time, refusing bad credentials', async () => {
    const { registry, tokenRequests } = await tokenRegistry();
    const alice = client({ credentials: async () => ({ username: 'alice', password: 'wonderland' }) });
    expect(await alice.token(`${registry}/team/app`)).toEqual({
      token: 'T-alice-repository:team/app:pull',
      expiresIn: 300,
    });
    expect(await alice.token(`${registry}/team/app:v1`, ['pull', 'push'])).toEqual({
      token: 'T-alice-repository:team/app:pull,push',
      expiresIn: 300,
    });
    expect(tokenRequests).toHaveLength(2); // not cached: each call asks

    expect(await client().token(`${registry}/team/app`)).toEqual({ token: 'T-anonymous' });
    tokenRequests.length = 0;
    const wrong = client({ credentials: async () => ({ username: 'alice', password: 'guess' }) });
    await expect(wrong.token(`${registry}/team/app`)).rejects.toMatchObject({
      code: 'ERR_REGISTRY_RESPONSE',
      status: 401,
    });
    expect(tokenRequests).toHaveLength(1);
  });

  it('gives no token where a registry does not use token auth', async () => {
    const basic = await serve((_request, response) => {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
      response.end();
    });
    const open = await serve((_request, response) => {
      response.writeHead(200);
      response.end('{}');
    });
    const bob = client({ credentials: async () => ({ username: 'bob', password: 'builder' }) });
    expect(await bob.token(`${basic}/app`)).toBeUndefined();
    expect(await bob.token(`${open}/app`)).toBeUndefined();
  });
});

/**
 * A registry whose token service knows one user, alice (password wonderland), and gives
 * anonymous tokens too: tokens name the user and scope, and are taken as they come.
 */
async function tokenRegistry(): Promise<{ registry: string; tokenRequests: URLSearchParams[] }> {
  const tokenRequests: URLSearchParams[] = [];
  const alice = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
  let registry = '';
  registry = await serve((request, response, url) => {
    if (url.pathname === '/token') {
      tokenRequests.push(url.searchParams);
      const authorization = request.headers.authorization;
      if (authorization !== undefined && authorization !== alice) {
        response.writeHead(401, { 'content-type': 'application/json' });
        return response.end('{"errors":[{"code":"UNAUTHORIZED","message":"invalid password"}]}');
      }
      const token =
        authorization === undefined ? 'T-anonymous' : `T-alice-${url.searchParams.getAll('scope').join(' ')}`;
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify(authorization === undefined ? { token } : { token, expires_in: 300 }),
      );
    }
    if (request.headers.authorization?.startsWith('Bearer T-') !== true) {
      response.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${registry}/token",service="svc"`,
        'content-type': 'application/json',
      });
      return response.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
  return { registry, tokenRequests };
}
