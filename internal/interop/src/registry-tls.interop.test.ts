// The registry client over HTTPS with a private certificate authority (`ca`), reached
// through a blob redirect from a loopback registry (loopback registries are plain HTTP).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes } from '@stevedore/digest';
import { RegistryClient } from '@stevedore/transport-registry';
import { afterAll, expect, it } from 'vitest';
import { selfSignedCertificate } from './certificate.ts';
import { needPeers } from './peers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

it('trusts the certificate authorities given in `ca` for HTTPS, and not without them', async (context) => {
  if (!(await needPeers(context, 'openssl'))) return;
  const dir = await mkdtemp(join(tmpdir(), 'stevedore-tls-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { key, certificate: cert } = await selfSignedCertificate(dir, 'server', '127.0.0.1', 'IP:127.0.0.1');
  const blob = new TextEncoder().encode('served over https');
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  // Big enough to be read into reused buffers on a TLS connection of its own.
  const big = randomBytes(3 * 1024 * 1024);
  const bigDigest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
  const storage = createHttpsServer({ key, cert }, (request, response) => {
    const body = request.url === '/big' ? big : blob;
    response.writeHead(200, { 'content-length': body.length });
    response.end(body);
  });
  const storagePort = await listen(storage);
  const registry = createHttpServer((request, response) => {
    const object = request.url?.endsWith(bigDigest) ? 'big' : 'object';
    response.writeHead(307, { location: `https://127.0.0.1:${storagePort}/${object}` });
    response.end();
  });
  const host = `127.0.0.1:${await listen(registry)}`;
  const descriptor = { mediaType: 'application/octet-stream', digest, size: blob.length };
  const bigDescriptor = { mediaType: 'application/octet-stream', digest: bigDigest, size: big.length };

  const trusting = new RegistryClient({ credentials: async () => undefined, ca: cert });
  const plain = new RegistryClient({ credentials: async () => undefined, retries: 0 });
  cleanups.push(
    () => trusting.close(),
    () => plain.close(),
  );
  expect(await collectBytes(await trusting.getBlob(`${host}/app`, descriptor))).toEqual(blob);
  await expect(plain.getBlob(`${host}/app`, descriptor)).rejects.toMatchObject({
    code: 'ERR_REGISTRY_UNREACHABLE',
  });
  const transient = { transientChunks: true };
  const hash = createHash('sha256');
  for await (const chunk of await trusting.getBlob(`${host}/app`, bigDescriptor, transient))
    hash.update(chunk);
  expect(`sha256:${hash.digest('hex')}`).toBe(bigDigest);
  await expect(plain.getBlob(`${host}/app`, bigDescriptor, transient)).rejects.toMatchObject({
    code: 'ERR_REGISTRY_UNREACHABLE',
  });
});
