// Our registry killed (SIGKILL) in the middle of a push and restarted on the same store:
// the store is consistent (check-store.ts) and the push can be redone. Killed while skopeo
// streams the layers; killed (deterministically, by a proxy that holds the manifest PUT)
// between the last blob and the manifest; and our own client aborted mid-push, whose next
// push completes and skips the blobs that were finished. Last, the check itself is shown to
// find what a broken store has.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTar } from '@stevedore/archive';
import { computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  type BlobProgress,
  createLayer,
  type Image,
  imageBlobs,
  type Layer,
  memoryBlobSink,
} from '@stevedore/image';
import { readOciLayout, writeOciLayout } from '@stevedore/transport-oci';
import { RegistryClient, readRegistry, writeRegistry } from '@stevedore/transport-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStore } from './check-store.ts';
import { needPeers, runPeer } from './peers.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

const MIB = 1024 * 1024;
// Four layers of 12 MiB of random bytes (gzip cannot shrink them): about 48 MiB to push,
// long enough to be killed in the middle of on loopback.
const LAYERS = 4;
const LAYER_BYTES = 12 * MIB;
// Kill once the uploads under way hold this much (a sixth of the image).
const KILL_AFTER = 8 * MIB;

let scratch: string;
let image: Image;
let layout: string;
const servers: ServerProcess[] = [];
const children: ChildProcess[] = [];
let client: RegistryClient;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-server-crash-'));
  image = await randomImage(Array.from({ length: LAYERS }, () => LAYER_BYTES));
  layout = join(scratch, 'layout');
  await writeOciLayout(layout, image, { tag: 'v1' });
  client = new RegistryClient({ credentials: async () => undefined });
}, 120_000);

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers) await server.kill();
  await client?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('our registry killed in the middle of a push', () => {
  it('is consistent after a restart on the same store, and skopeo pushes again', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const store = await mkdtemp(join(scratch, 'store-'));
    // Killed twice: in the first blob, then (after a restart) with some blobs in and the
    // next one half sent.
    const kills: ReadonlyArray<{
      readonly when: string;
      readonly reached: (found: StoreProgress) => boolean;
    }> = [
      { when: 'the uploads held 8 MiB', reached: (found) => found.uploading >= KILL_AFTER },
      {
        when: 'two blobs were stored and 4 MiB of the next',
        reached: (found) => found.blobs >= 2 && found.uploading >= KILL_AFTER / 2,
      },
    ];
    let server = await serve(store);
    for (const kill of kills) {
      const earlier = (await storeProgress(store)).sessionIds;
      const push = startSkopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/crash/app:v1`);
      const progress = await waitFor(kill.when, 60_000, async () => {
        const found = await storeProgress(store, earlier);
        if (push.child.exitCode !== null) {
          throw new Error(`skopeo finished (${push.child.exitCode}) before the kill: ${push.output()}`);
        }
        return kill.reached(found) ? found : undefined;
      });
      await server.kill();
      push.child.kill('SIGKILL');
      await push.exited;
      const killedAt = await storeProgress(store, earlier);
      console.log(
        `killed once ${kill.when}: ${mib(progress.uploading)} MiB in ${progress.sessions} upload sessions and ${progress.blobs} blobs stored; after the kill ${mib(killedAt.uploading)} MiB, ${killedAt.blobs} blobs`,
      );
      expect(killedAt.blobs).toBeLessThan(LAYERS + 1); // the push was cut before its last blob

      server = await serve(store);
      expect(await checkStore(store)).toEqual([]);
      // The manifest never came: no tag for it, and nothing half-there.
      expect(await client.headManifest(`${server.host}/crash/app:v1`)).toBeUndefined();
    }

    await runPeer('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      `oci:${layout}:v1`,
      `docker://${server.host}/crash/app:v1`,
    ]);
    await expectPulledBack(server, 'crash/app:v1');
    expect(await checkStore(store)).toEqual([]);
    await server.stop();
  }, 180_000);

  it('is consistent when killed between the last blob and the manifest, and skopeo pushes again', async (context) => {
    if (!(await needPeers(context, 'skopeo'))) return;
    const store = await mkdtemp(join(scratch, 'store-'));
    const first = await serve(store);
    // Every request goes through; the manifest PUT (which skopeo sends after every blob is
    // in) is held until the server is dead, then forwarded into nothing.
    let heldManifest = '';
    const gate = await startGate(first.host, async (method, path) => {
      if (method !== 'PUT' || !/\/manifests\//.test(path)) return;
      heldManifest = path;
      await first.kill();
    });
    try {
      const push = startSkopeoCopy(`oci:${layout}:v1`, `docker://${gate.host}/crash/between:v1`);
      await waitFor('skopeo sent its manifest PUT', 120_000, async () => {
        if (heldManifest !== '') return true;
        if (push.child.exitCode !== null) {
          throw new Error(
            `skopeo finished (${push.child.exitCode}) before its manifest PUT: ${push.output()}`,
          );
        }
        return undefined;
      });
      // skopeo may retry against the dead server for a while: not worth waiting for.
      push.child.kill('SIGKILL');
      await push.exited;
    } finally {
      await gate.stop();
    }
    await first.kill(); // already killed: this waits until it has exited
    console.log(`killed on ${heldManifest}`);

    const second = await serve(store);
    expect(await checkStore(store)).toEqual([]);
    expect(await client.headManifest(`${second.host}/crash/between:v1`)).toBeUndefined();
    // Every blob was in before the manifest was sent: all of them survived the kill.
    for (const descriptor of imageBlobs(image)) {
      expect(await client.hasBlob(`${second.host}/crash/between`, descriptor)).toBe(true);
    }

    await runPeer('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      '--dest-no-creds',
      `oci:${layout}:v1`,
      `docker://${second.host}/crash/between:v1`,
    ]);
    await expectPulledBack(second, 'crash/between:v1');
    expect(await checkStore(store)).toEqual([]);
    await second.stop();
  }, 180_000);
});

describe('our client aborted in the middle of a push', () => {
  it('leaves the store consistent, and the next push completes, skipping the finished blobs', async () => {
    // A small layer that is in long before a big one is half sent.
    const pushed = await randomImage([256 * 1024, 24 * MIB, 24 * MIB]);
    const [small, big] = pushed.manifest.json.layers;
    if (small === undefined || big === undefined) throw new Error('unreachable');
    const store = await mkdtemp(join(scratch, 'store-'));
    const server = await serve(store);
    const reference = `${server.host}/abort/app:v1`;

    const aborter = new AbortController();
    const writing = writeRegistry(reference, pushed, client, { signal: aborter.signal });
    writing.catch(() => {}); // looked at below
    const progress = await waitFor('the small layer was stored and 8 MiB of a big one', 60_000, async () => {
      const found = await storeProgress(store);
      return found.digests.has(small.digest) && found.uploading >= KILL_AFTER ? found : undefined;
    });
    aborter.abort(new Error('stopped by the test'));
    await expect(writing).rejects.toThrow();
    console.log(
      `aborted with ${mib(progress.uploading)} MiB in ${progress.sessions} upload sessions and ${progress.blobs} blobs stored`,
    );
    // The server sees the connection go: give it a moment to stop writing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await checkStore(store)).toEqual([]);

    const states = new Map<string, BlobProgress['state']>();
    await writeRegistry(reference, pushed, client, {
      onProgress: ({ descriptor, state }) => {
        if (state !== 'progress' && state !== 'started') states.set(descriptor.digest, state);
      },
    });
    expect(states.get(small.digest)).toBe('skipped');
    expect(states.get(big.digest)).toBe('done');
    const back = await readRegistry(reference, client);
    expect(back.manifest.digest.toString()).toBe(pushed.manifest.digest.toString());
    await verifyBlobs(`${server.host}/abort/app`, imageBlobs(pushed));
    expect(await checkStore(store)).toEqual([]);
    await server.stop();
  }, 180_000);
});

// The check above could fail: it finds what a broken store has.
describe('checkStore', () => {
  it('reports bad bytes, stray files, dangling tags, missing blobs and links', async () => {
    const small = await randomImage([64 * 1024, 64 * 1024]);
    const [layer, other] = small.manifest.json.layers;
    if (layer === undefined || other === undefined) throw new Error('unreachable');
    const store = await mkdtemp(join(scratch, 'store-'));
    const server = await serve(store);
    await writeRegistry(`${server.host}/check/app:v1`, small, client);
    await server.stop();
    expect(await checkStore(store)).toEqual([]);

    const manifest = small.manifest.digest.toString();
    const blobFile = (digest: string) => join(store, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));
    const repository = join(store, 'repositories', 'check', 'app');
    const bytes = await readFile(blobFile(layer.digest));
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await writeFile(blobFile(layer.digest), bytes);
    await writeFile(`${blobFile(layer.digest)}.partial`, 'half');
    await writeFile(join(repository, '_tags', 'dangling'), `sha256:${'0'.repeat(64)}`);
    await rm(blobFile(other.digest));
    await rm(join(repository, '_layers', 'sha256', small.manifest.json.config.digest.slice(7)));
    const problems = await checkStore(store);
    const expected = [
      `${layer.digest}: its ${layer.size} bytes hash to`,
      `${layer.digest.slice(7)}.partial: a stray file`,
      `check/app:dangling: names sha256:${'0'.repeat(64)}, not a manifest of the repository`,
      `check/app: blob link ${other.digest} shows a missing blob`,
      `check/app@${manifest}: names ${other.digest}, whose blob is missing`,
      `check/app@${manifest}: names ${small.manifest.json.config.digest}, not visible in the repository`,
    ];
    for (const line of expected)
      expect(
        problems.some((problem) => problem.includes(line)),
        line,
      ).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });
});

// --- helpers ---

async function serve(store: string): Promise<ServerProcess> {
  const server = await startServerProcess(store);
  servers.push(server);
  return server;
}

/** An image of gzip layers each holding one file of `sizes[i]` random bytes (gzip level 1: fast, no smaller). */
async function randomImage(sizes: readonly number[]): Promise<Image> {
  const layers: Layer[] = [];
  for (const [position, size] of sizes.entries()) {
    const content = new Uint8Array(size);
    for (let offset = 0; offset < size; offset += 65_536) {
      crypto.getRandomValues(content.subarray(offset, offset + 65_536));
    }
    const tar = writeTar([{ name: `file-${position}`, type: 'file', content }]);
    layers.push(await createLayer(tar, { sink: memoryBlobSink, level: 1 }));
  }
  return assembleImage(
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    layers,
  );
}

interface StoreProgress {
  /** Bytes in the data files of upload sessions (except those `storeProgress` was told to leave out). */
  readonly uploading: number;
  readonly sessions: number;
  /** The ids of every upload session, counted or not. */
  readonly sessionIds: ReadonlySet<string>;
  /** Blob files stored, and their digests. */
  readonly blobs: number;
  readonly digests: ReadonlySet<string>;
}

// What the store holds right now, read from its files (ROOT/uploads/<id>/data,
// ROOT/blobs/sha256/<ab>/<hex>); files that go while being looked at are skipped, and so
// are the upload sessions of `earlier` (left by an earlier, killed push).
async function storeProgress(root: string, earlier: ReadonlySet<string> = new Set()): Promise<StoreProgress> {
  const names = async (path: string) => readdir(path).catch((): string[] => []);
  let uploading = 0;
  let sessions = 0;
  const sessionIds = new Set(await names(join(root, 'uploads')));
  for (const id of sessionIds) {
    if (earlier.has(id)) continue;
    const data = await stat(join(root, 'uploads', id, 'data')).catch(() => undefined);
    if (data === undefined) continue;
    uploading += data.size;
    sessions += 1;
  }
  const digests = new Set<string>();
  for (const prefix of await names(join(root, 'blobs', 'sha256'))) {
    for (const encoded of await names(join(root, 'blobs', 'sha256', prefix)))
      digests.add(`sha256:${encoded}`);
  }
  return { uploading, sessions, sessionIds, blobs: digests.size, digests };
}

/** Polls `check` every 5 ms until it answers something, or fails after `timeout` ms. */
async function waitFor<T>(what: string, timeout: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `skopeo copy` to our plain-HTTP registry, started and not awaited. */
function startSkopeoCopy(
  source: string,
  destination: string,
): { child: ChildProcess; exited: Promise<unknown>; output: () => string } {
  const child = spawn('skopeo', ['copy', '--dest-tls-verify=false', '--dest-no-creds', source, destination], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  child.stderr?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  return { child, exited: once(child, 'exit'), output: () => output };
}

/**
 * A loopback proxy in front of `target` that lets `hold` see (and delay) each request
 * before forwarding it; a request whose target is gone is cut.
 */
async function startGate(
  target: string,
  hold: (method: string, path: string) => Promise<void>,
): Promise<{ host: string; stop: () => Promise<void> }> {
  const [targetHost = '', targetPort = ''] = target.split(':');
  const server: Server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    void hold(method, path).then(() => {
      const upstream = forward(
        { host: targetHost, port: Number(targetPort), method, path, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Pulls `name` back with skopeo (to a new layout) and with our client: the layout's manifest digest, every blob verified. */
async function expectPulledBack(server: ServerProcess, name: string): Promise<void> {
  const expected = image.manifest.digest.toString();
  const back = await mkdtemp(join(scratch, 'back-'));
  await runPeer('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--src-no-creds',
    `docker://${server.host}/${name}`,
    `oci:${back}:v1`,
  ]);
  expect((await readOciLayout(back, { tag: 'v1' })).manifest.digest.toString()).toBe(expected);
  const ours = await readRegistry(`${server.host}/${name}`, client);
  expect(ours.manifest.digest.toString()).toBe(expected);
  await verifyBlobs(`${server.host}/${name.replace(/:[^/]*$/, '')}`, imageBlobs(image));
}

/** Reads every blob back through the client (which verifies as it reads) and hashes it again. */
async function verifyBlobs(
  repository: string,
  descriptors: readonly { digest: string; size: number; mediaType: string }[],
) {
  for (const descriptor of descriptors) {
    const actual = await computeDigest(await client.getBlob(repository, descriptor));
    expect(actual.toString()).toBe(descriptor.digest);
  }
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);
