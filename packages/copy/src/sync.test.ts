import { createHash, randomUUID } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Image } from '@stevedore/image';
import { RegistryClient } from '@stevedore/transport-registry';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copy, inspect, listTags, type SyncJob, type SyncResult, sync } from './index.ts';
import { type SyncTagFilter, selectTags } from './sync.ts';

// Listed in this order (the layout keeps it), which is neither semver nor text order.
const TAGS = ['latest', 'v1.0.0', 'v1.10.0', 'v2.0.0-rc.1', 'v1.2.0'] as const;

let root: string;
let source: string;
let images: Record<string, Image>;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-sync-'));
  source = join(root, 'source');
  images = {};
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// An `oci:` layout at `source` holding a small image under each of TAGS.
async function fillSource(): Promise<void> {
  for (const tag of TAGS) {
    images[tag] = await smallImage(tag);
    await copy(images[tag], `oci:${source}:${tag}`);
  }
}

const digestOf = (tag: string) => images[tag]?.manifest.digest.toString();
const okTags = (results: SyncResult[]) => results.flatMap((result) => (result.ok ? [result.tag] : []));
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('sync with tags', () => {
  beforeEach(fillSource);

  it("copies every tag with 'all', a result per tag naming it, its endpoints and digest", async () => {
    const mirror = join(root, 'mirror');
    const job: SyncJob = { source: `oci:${source}`, destination: `oci:${mirror}`, tags: 'all' };
    const results = await sync([job]);
    expect(results).toEqual(
      TAGS.map((tag) => ({
        job,
        tag,
        source: `oci:${source}:${tag}`,
        destination: `oci:${mirror}:${tag}`,
        ok: true,
        digest: digestOf(tag),
      })),
    );
    expect(await listTags(`oci:${mirror}`)).toEqual([...TAGS]);
    for (const tag of TAGS) expect((await inspect(`oci:${mirror}:${tag}`)).digest).toBe(digestOf(tag));
  });

  it('keeps the newest N by semver, not by text, pre-releases included, and leaves out the rest', async () => {
    const mirror = join(root, 'mirror');
    const results = await sync([
      { source: `oci:${source}`, destination: `oci:${mirror}`, tags: { match: /^v1\./, newest: 1 } },
    ]);
    // By text, v1.2.0 would be the newest v1.
    expect(okTags(results)).toEqual(['v1.10.0']);
    expect(await listTags(`oci:${mirror}`)).toEqual(['v1.10.0']);

    const three = join(root, 'three');
    const newest = await sync([
      { source: `oci:${source}`, destination: `oci:${three}`, tags: { newest: 3 } },
    ]);
    // In the order the source lists them; `latest` is no version, v1.0.0 the oldest.
    expect(okTags(newest)).toEqual(['v1.10.0', 'v2.0.0-rc.1', 'v1.2.0']);
    expect((await listTags(`oci:${three}`)).sort()).toEqual(['v1.10.0', 'v1.2.0', 'v2.0.0-rc.1']);
  });

  it('copies what a match selects into a static tree, a string compiled as written', async () => {
    const site = join(root, 'site');
    const results = await sync([
      { source: `oci:${source}`, destination: `static:${site}:team/app`, tags: { match: '^v1\\.' } },
      { source: `oci:${source}`, destination: `static:${site}:team/rc`, tags: { match: 'rc' } },
    ]);
    expect(results.map(({ tag, destination }) => [tag, destination])).toEqual([
      ['v1.0.0', `static:${site}:team/app:v1.0.0`],
      ['v1.10.0', `static:${site}:team/app:v1.10.0`],
      ['v1.2.0', `static:${site}:team/app:v1.2.0`],
      ['v2.0.0-rc.1', `static:${site}:team/rc:v2.0.0-rc.1`],
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(await listTags(`static:${site}:team/app`)).toEqual(['v1.0.0', 'v1.10.0', 'v1.2.0']);
    expect((await inspect(`static:${site}:team/rc:v2.0.0-rc.1`)).digest).toBe(digestOf('v2.0.0-rc.1'));
  });

  it('reports a source it cannot list as one failed result, and goes on', async () => {
    const missing = join(root, 'missing');
    const single = join(root, 'single');
    const job: SyncJob = { source: `oci:${missing}`, destination: `oci:${join(root, 'm')}`, tags: 'all' };
    const results = await sync([job, { source: `oci:${source}:latest`, destination: `dir:${single}` }]);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({
      job,
      ok: false,
      source: `oci:${missing}`,
      destination: `oci:${join(root, 'm')}`,
      error: { code: 'ERR_LAYOUT_INVALID' },
    });
    expect(results[0]).not.toHaveProperty('tag');
    expect(results[1]).toMatchObject({ ok: true, digest: digestOf('latest'), destination: `dir:${single}` });
  });

  it('gives no result for a job whose filter selects nothing', async () => {
    const results = await sync([
      { source: `oci:${source}`, destination: `oci:${join(root, 'none')}`, tags: { match: /^v9/ } },
    ]);
    expect(results).toEqual([]);
    expect(await exists(join(root, 'none'))).toBe(false);
  });

  it.each([
    ['all', 'copying no further tag'],
    [{ match: /^latest$/ }, 'even in the last copy'],
  ] as const)('stops at an abort (tags %j), %s', async (tags, _how) => {
    const controller = new AbortController();
    const mirror = join(root, 'mirror');
    const run = sync(
      [
        {
          source: `oci:${source}`,
          destination: `oci:${mirror}`,
          tags,
          options: { onProgress: () => controller.abort(new Error('stop')) },
        },
      ],
      { signal: controller.signal },
    );
    await expect(run).rejects.toThrow('stop');
    const copied = await listTags(`oci:${mirror}`).catch(() => []);
    expect(copied.length).toBeLessThan(2);
  });
});

describe('sync with tags refuses, before copying anything,', () => {
  beforeEach(fillSource);
  const first = () => ({ source: `oci:${source}:latest`, destination: `dir:${join(root, 'first')}` });
  const refused = async (job: Omit<SyncJob, 'tags'> & { tags?: unknown }) => {
    const promise = sync([first(), job as SyncJob]);
    await promise.catch(() => {});
    expect(await exists(join(root, 'first'))).toBe(false);
    return promise;
  };
  const invalid = (message: RegExp) => ({
    code: 'ERR_ENDPOINT_INVALID',
    message: expect.stringMatching(message),
  });

  it.each([
    [
      'a source with a tag',
      () => `oci:${source}:v1.0.0`,
      /jobs\[1\]\.source .*names no tag \(drop the tag "v1\.0\.0"\)/,
    ],
    [
      'a registry source with a tag',
      () => 'docker://reg.example/app:v1',
      /names no tag \(drop the tag "v1"\)/,
    ],
    [
      'a registry source with a digest',
      () => `docker://reg.example/app@sha256:${'a'.repeat(64)}`,
      /names no digest \(drop the digest "sha256:a+/,
    ],
    ['a dir: source', () => `dir:${source}`, /cannot read from dir:, which holds one untagged image/],
    [
      'a docker-archive: source',
      () => `docker-archive:${join(root, 'd.tar')}`,
      /cannot read from a docker-archive:.*NAME:TAG/,
    ],
  ])('%s', async (_name, from, message) => {
    await expect(
      refused({ source: from(), destination: `oci:${join(root, 'out')}`, tags: 'all' }),
    ).rejects.toMatchObject(invalid(message));
  });

  it.each([
    [
      'a dir: destination',
      () => `dir:${join(root, 'out')}`,
      /cannot write to dir:, which holds one untagged image/,
    ],
    [
      'an oci-archive: destination',
      () => `oci-archive:${join(root, 'out.tar')}`,
      /only the last tag would stay/,
    ],
    ['a docker-archive: destination', () => `docker-archive:${join(root, 'out.tar')}`, /writes whole/],
    [
      'a destination with a tag',
      () => `oci:${join(root, 'out')}:v1`,
      /destination .*names no tag \(drop the tag "v1"\)/,
    ],
    ['a registry destination with a tag', () => 'docker://localhost:5000/app:v1', /names no tag/],
  ])('%s', async (_name, to, message) => {
    await expect(refused({ source: `oci:${source}`, destination: to(), tags: 'all' })).rejects.toMatchObject(
      invalid(message),
    );
  });

  it('an image in memory as the source', async () => {
    await expect(
      refused({ source: await smallImage('x'), destination: `oci:${join(root, 'out')}`, tags: 'all' }),
    ).rejects.toMatchObject(invalid(/an image in memory has no tags/));
  });

  it.each([
    [{}, TypeError, /jobs\[1\]\.tags: expected 'all' or \{ match, newest \}/],
    ['some', TypeError, /expected 'all'/],
    [{ newest: 0 }, RangeError, /jobs\[1\]\.tags\.newest: expected a positive integer, got 0/],
    [{ newest: 1.5 }, RangeError, /positive integer/],
    [{ match: '(' }, SyntaxError, /jobs\[1\]\.tags\.match: "?\(.* is not a regular expression/],
    [{ match: 42 }, TypeError, /expected a RegExp or a string/],
  ])('the filter %j', async (tags, type, message) => {
    const promise = refused({ source: `oci:${source}`, destination: `oci:${join(root, 'out')}`, tags });
    await expect(promise).rejects.toThrow(type);
    await expect(promise).rejects.toThrow(message);
  });
});

describe('selectTags', () => {
  const listed = ['latest', 'v1.0.0', '1.1.0', 'v1.10.0', 'v2.0.0-rc.1', 'v2.0.0-rc.2', 'v1.2.0', 'v1.0.0'];

  const cases: [SyncTagFilter, string[]][] = [
    ['all', ['latest', 'v1.0.0', '1.1.0', 'v1.10.0', 'v2.0.0-rc.1', 'v2.0.0-rc.2', 'v1.2.0']],
    [{ match: /^v1\./ }, ['v1.0.0', 'v1.10.0', 'v1.2.0']],
    [{ match: /v1/g }, ['v1.0.0', 'v1.10.0', 'v1.2.0']],
    [{ match: 'LATEST' }, []],
    [{ match: /LATEST/i }, ['latest']],
    [{ match: '^v?1\\.\\d+\\.\\d+$' }, ['v1.0.0', '1.1.0', 'v1.10.0', 'v1.2.0']],
    [{ newest: 1 }, ['v2.0.0-rc.2']],
    [{ newest: 2 }, ['v2.0.0-rc.1', 'v2.0.0-rc.2']],
    [{ newest: 4 }, ['v1.10.0', 'v2.0.0-rc.1', 'v2.0.0-rc.2', 'v1.2.0']],
    [{ newest: 100 }, ['v1.0.0', '1.1.0', 'v1.10.0', 'v2.0.0-rc.1', 'v2.0.0-rc.2', 'v1.2.0']],
    [{ match: /^v1\./, newest: 2 }, ['v1.10.0', 'v1.2.0']],
    [{ match: '^1', newest: 1 }, ['1.1.0']],
  ];
  const show = (filter: SyncTagFilter) =>
    JSON.stringify(filter, (_key, value) => (value instanceof RegExp ? String(value) : value));
  it.each(cases.map(([filter, expected]) => [show(filter), filter, expected] as const))(
    '%s',
    (_shown, filter, expected) => {
      expect(selectTags(listed, filter)).toEqual(expected);
    },
  );

  it('ignores the state a g or y flag keeps between tags', () => {
    expect(selectTags(['v1.0.0', 'v1.2.0', 'v1.10.0'], { match: /v1/g })).toEqual([
      'v1.0.0',
      'v1.2.0',
      'v1.10.0',
    ]);
    expect(selectTags(['v1.0.0', 'v1.2.0'], { match: /v1/y })).toEqual(['v1.0.0', 'v1.2.0']);
  });

  it('breaks a tie of precedence by the tag, whatever the order listed', () => {
    expect(selectTags(['v1.0.0', '1.0.0', 'v0.9.0'], { newest: 1 })).toEqual(['1.0.0']);
    expect(selectTags(['1.0.0', 'v1.0.0', 'v0.9.0'], { newest: 1 })).toEqual(['1.0.0']);
  });
});

// A registry that keeps what it is given in memory: enough of the distribution API for a
// push and a pull over plain HTTP on loopback.
interface FakeRegistry {
  readonly host: string;
  readonly client: RegistryClient;
  tagsOf(repository: string): string[];
}

const servers: Server[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function fakeRegistry(): Promise<FakeRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  const tags = new Map<string, Map<string, string>>();
  const uploads = new Map<string, Buffer[]>();
  const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const body = await bodyOf(request);
    const fail = (status: number, code: string) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase() }] }));
    };
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const list = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (url.pathname === '/v2/') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    } else if (upload !== null) {
      const [, repository, id = ''] = upload;
      if (request.method === 'POST') {
        const session = randomUUID();
        uploads.set(session, []);
        response.writeHead(202, {
          location: `/v2/${repository}/blobs/uploads/${session}`,
          'content-length': 0,
        });
        return response.end();
      }
      const parts = uploads.get(id);
      if (parts === undefined) return fail(404, 'BLOB_UPLOAD_UNKNOWN');
      parts.push(body);
      if (request.method === 'PATCH') {
        response.writeHead(202, { location: `/v2/${repository}/blobs/uploads/${id}`, 'content-length': 0 });
        return response.end();
      }
      const whole = Buffer.concat(parts);
      const digest = url.searchParams.get('digest');
      if (digest !== sha256(whole)) return fail(400, 'DIGEST_INVALID');
      blobs.set(digest, whole);
      uploads.delete(id);
      response.writeHead(201, {
        location: `/v2/${repository}/blobs/${digest}`,
        'docker-content-digest': digest,
      });
      response.end();
    } else if (blob !== null) {
      const bytes = blobs.get(blob[2] ?? '');
      if (bytes === undefined) return fail(404, 'BLOB_UNKNOWN');
      response.writeHead(200, { 'content-length': bytes.length, 'docker-content-digest': blob[2] });
      response.end(request.method === 'HEAD' ? undefined : bytes);
    } else if (manifest !== null) {
      const [, repository = '', reference = ''] = manifest;
      const repositoryTags = tags.get(repository) ?? new Map<string, string>();
      tags.set(repository, repositoryTags);
      if (request.method === 'PUT') {
        const digest = sha256(body);
        manifests.set(digest, { bytes: body, mediaType: request.headers['content-type'] ?? '' });
        if (!reference.startsWith('sha256:')) repositoryTags.set(reference, digest);
        response.writeHead(201, {
          location: `/v2/${repository}/manifests/${digest}`,
          'docker-content-digest': digest,
        });
        return response.end();
      }
      const digest = reference.startsWith('sha256:') ? reference : repositoryTags.get(reference);
      const found = digest === undefined ? undefined : manifests.get(digest);
      if (digest === undefined || found === undefined) return fail(404, 'MANIFEST_UNKNOWN');
      response.writeHead(200, {
        'content-type': found.mediaType,
        'content-length': found.bytes.length,
        'docker-content-digest': digest,
      });
      response.end(request.method === 'HEAD' ? undefined : found.bytes);
    } else if (list !== null && tags.has(list[1] ?? '')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ name: list[1], tags: [...(tags.get(list[1] ?? '')?.keys() ?? [])] }));
    } else {
      fail(404, 'NAME_UNKNOWN');
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new RegistryClient({ credentials: async () => undefined, retries: 0 });
  clients.push(client);
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    client,
    tagsOf: (repository) => [...(tags.get(repository)?.keys() ?? [])],
  };
}

describe('sync with tags and a registry', () => {
  beforeEach(fillSource);

  it('pushes each selected tag under the same tag, and mirrors a repository back', async () => {
    const registry = await fakeRegistry();
    const repository = `docker://${registry.host}/team/app`;
    // A layout tag that no registry tag can be: its image fails alone.
    await copy(images.latest as Image, `oci:${source}:feature/x`);
    const options = { registry: registry.client };
    const pushed = await sync([
      { source: `oci:${source}`, destination: repository, tags: { match: /^(v1|feature)/ }, options },
    ]);
    expect(pushed.map(({ tag, ok, destination }) => [tag, ok, destination])).toEqual([
      ['v1.0.0', true, `${repository}:v1.0.0`],
      ['v1.10.0', true, `${repository}:v1.10.0`],
      ['v1.2.0', true, `${repository}:v1.2.0`],
      ['feature/x', false, `${repository}:feature/x`],
    ]);
    expect(pushed[3]).toMatchObject({
      error: { code: 'ERR_ENDPOINT_INVALID', message: expect.stringContaining('feature/x') },
    });
    expect(registry.tagsOf('team/app')).toEqual(['v1.0.0', 'v1.10.0', 'v1.2.0']);

    const mirror = join(root, 'mirror');
    const pulled = await sync([
      { source: repository, destination: `oci:${mirror}`, tags: { newest: 2 }, options },
    ]);
    expect(pulled).toEqual([
      expect.objectContaining({
        tag: 'v1.10.0',
        source: `${repository}:v1.10.0`,
        destination: `oci:${mirror}:v1.10.0`,
        ok: true,
        digest: digestOf('v1.10.0'),
      }),
      expect.objectContaining({ tag: 'v1.2.0', ok: true, digest: digestOf('v1.2.0') }),
    ]);
    expect(await listTags(`oci:${mirror}`)).toEqual(['v1.10.0', 'v1.2.0']);
  });
});
