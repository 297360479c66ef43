// static: served by a plain static file server (this test's, using only the content-type
// map Stevedore writes, and nginx with the snippet Stevedore writes) is pulled by skopeo,
// and by us, as a registry.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { buildImage } from '@stevedore/build';
import { copy } from '@stevedore/copy';
import { assembleIndex, type Image, type Index, memoryBlobSink } from '@stevedore/image';
import {
  readOciLayout,
  STATIC_CONTENT_TYPES,
  STATIC_NGINX_CONF,
  writeStatic,
} from '@stevedore/transport-oci';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needPeers, runPeer } from './peers.ts';
import { freePort } from './registry.ts';

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

/** `demo/app:v1` (one image) and `demo/app:multi` (an amd64 + arm64 index) written to `site`. */
async function demoSite(site: string): Promise<{ amd: Image; index: Index }> {
  const text = (value: string) => new TextEncoder().encode(value);
  const amd = await buildImage(
    [[{ name: 'amd', type: 'file', content: text('amd') }]],
    {},
    { blobSink: memoryBlobSink },
  );
  const arm = await buildImage(
    [[{ name: 'arm', type: 'file', content: text('arm') }]],
    {},
    { blobSink: memoryBlobSink, platform: 'linux/arm64' },
  );
  const index = await assembleIndex([amd, arm]);
  await writeStatic(site, amd, { name: 'demo/app', tag: 'v1' });
  await writeStatic(site, index, { name: 'demo/app', tag: 'multi' });
  return { amd, index };
}

it('skopeo pulls an image and an index from a static file host', async (context) => {
  if (!(await needPeers(context, 'skopeo'))) return;
  const { amd, index } = await demoSite(join(scratch, 'site'));

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

it('nginx serves the tree with the snippet Stevedore writes; skopeo and we pull from it', async (context) => {
  if (!(await needPeers(context, 'skopeo', 'nginx'))) return;
  const site = join(scratch, 'nginx-site');
  const { amd, index } = await demoSite(site);

  // nginx in the foreground on a free loopback port, everything it writes under `dir`.
  const dir = join(scratch, 'nginx');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, 'nginx.conf');
  await writeFile(
    config,
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      // As root the workers would run as nobody, who cannot enter the test's directories.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (temp) => `  ${temp}_temp_path ${join(dir, temp)};`,
      ),
      '  server {',
      `    listen 127.0.0.1:${port};`,
      `    root ${site};`,
      `    include ${join(site, STATIC_NGINX_CONF)};`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const nginx = spawn('nginx', ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  const host = `127.0.0.1:${port}`;
  try {
    for (let attempt = 0; ; attempt++) {
      const ping = await fetch(`http://${host}/v2/`).catch(() => undefined);
      if (ping?.ok) break;
      if (attempt > 100)
        throw new Error(`nginx did not start: ${await readFile(join(dir, 'error.log'), 'utf8')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const manifest = await fetch(`http://${host}/v2/demo/app/manifests/v1`);
    expect(manifest.headers.get('content-type')).toBe(amd.manifest.mediaType);
    const tls = '--src-tls-verify=false';
    const layout = join(scratch, 'from-nginx');
    await runPeer('skopeo', ['copy', tls, `docker://${host}/demo/app:v1`, `oci:${layout}:v1`]);
    expect((await readOciLayout(layout, { tag: 'v1' })).manifest.digest.equals(amd.manifest.digest)).toBe(
      true,
    );
    await runPeer('skopeo', ['copy', '--all', tls, `docker://${host}/demo/app:multi`, `oci:${layout}:multi`]);
    expect(
      (await readOciLayout(layout, { tag: 'multi' })).manifest.digest.equals(index.manifest.digest),
    ).toBe(true);
    const ours = await copy(
      `docker://${host}/demo/app:multi`,
      `oci:${join(scratch, 'ours-from-nginx')}:multi`,
      {
        all: true,
      },
    );
    expect(ours.digest).toBe(index.manifest.digest.toString());
  } finally {
    nginx.kill('SIGQUIT');
    await exited;
  }
});
