// static: served by a plain static file server (this test's, using only the content-type
// map Stevedore writes) is pulled by skopeo as a registry.
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { buildImage } from '@stevedore/build';
import { assembleIndex, memoryBlobSink } from '@stevedore/image';
import { readOciLayout, STATIC_CONTENT_TYPES, writeStatic } from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';

let scratch: string;
let server: Server;
let host: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-static-interop-'));
  const root = join(scratch, 'site');
  server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const types = JSON.parse(await readFile(join(root, STATIC_CONTENT_TYPES), 'utf8').catch(() => '{}'));
    if (path === '/v2/') {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(request.method === 'HEAD' ? undefined : '{}');
      return;
    }
    const file = normalize(join(root, decodeURIComponent(path)));
    const found = file.startsWith(root) ? await stat(file).catch(() => undefined) : undefined;
    if (!found?.isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'content-type': types[path] ?? 'application/octet-stream',
      'content-length': found.size,
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

it('skopeo pulls an image and an index from a static file host', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const text = (value: string) => new TextEncoder().encode(value);
  const amd = await buildImage(
    [[{ name: 'amd', type: 'file', content: text('amd') }]],
    {},
    { blobSink: memoryBlobSink },
  );
  const arm = await buildImage(
    [[{ name: 'arm', type: 'file', content: text('arm') }]],
    {},
    {
      blobSink: memoryBlobSink,
      platform: 'linux/arm64',
    },
  );
  const index = await assembleIndex([amd, arm]);
  const site = join(scratch, 'site');
  await writeStatic(site, amd, { name: 'demo/app', tag: 'v1' });
  await writeStatic(site, index, { name: 'demo/app', tag: 'multi' });

  const layout = join(scratch, 'pulled');
  const tls = '--src-tls-verify=false';
  await runPeer('skopeo', ['copy', tls, `docker://${host}/demo/app:v1`, `oci:${layout}:v1`]);
  expect((await readOciLayout(layout, { tag: 'v1' })).manifest.digest.equals(amd.manifest.digest)).toBe(true);
  await runPeer('skopeo', ['copy', '--all', tls, `docker://${host}/demo/app:multi`, `oci:${layout}:multi`]);
  expect((await readOciLayout(layout, { tag: 'multi' })).manifest.digest.equals(index.manifest.digest)).toBe(
    true,
  );
  const tags = JSON.parse(
    await runPeer('skopeo', ['list-tags', '--tls-verify=false', `docker://${host}/demo/app`]),
  );
  expect(tags.Tags).toEqual(['multi', 'v1']);
});
