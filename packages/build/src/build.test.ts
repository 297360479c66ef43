import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, type TarEntryInput, writeTar } from '@stevedore/archive';
import { collectBytes, computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  type BlobSource,
  type Image,
  imageLayers,
  type Layer,
  memoryBlobSink,
  readLayerTar,
} from '@stevedore/image';
import { MediaTypes } from '@stevedore/manifest';
import { blobSinkDirectoriesHolding } from '@stevedore-internal/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLayer, type BuildEvent, buildFromDir, buildImage } from './index.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-build-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Listed {
  name: string;
  type: string;
  mode: number;
  linkname: string;
  mtime: number;
  uid: number;
  text?: string;
}

async function listLayer(image: Image, index = 0): Promise<Listed[]> {
  const layer = imageLayers(image)[index];
  if (layer === undefined) throw new Error('no such layer');
  const listed: Listed[] = [];
  for await (const entry of readTar(await readLayerTar(layer))) {
    const content = new TextDecoder().decode(await collectBytes(entry.content));
    listed.push({
      name: entry.name,
      type: entry.type,
      mode: entry.mode,
      linkname: entry.linkname,
      mtime: entry.mtime,
      uid: entry.uid,
      ...(entry.type === 'file' ? { text: content } : {}),
    });
  }
  return listed;
}

const entries: TarEntryInput[] = [
  { name: 'etc', type: 'directory' },
  { name: 'etc/hello', type: 'file', content: new TextEncoder().encode('hi\n'), mtime: 12345, uid: 7 },
  { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
];

describe('buildImage', () => {
  it('builds from entries, with the runtime shorthand, deterministically', async () => {
    const config = {
      entrypoint: ['/bin/sh'],
      env: { A: '1' },
      labels: { l: 'v' },
      exposedPorts: [80, '53/udp'],
    };
    const image = await buildImage([entries], config, { blobSink: memoryBlobSink });
    expect(image.config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Entrypoint: ['/bin/sh'],
        Env: ['A=1'],
        Labels: { l: 'v' },
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'stevedore build' }],
    });
    expect(image.manifest.json.layers[0]?.mediaType).toBe(MediaTypes.OciLayerGzip);
    const listed = await listLayer(image);
    expect(listed.map((entry) => [entry.name, entry.type])).toEqual([
      ['etc/', 'directory'],
      ['etc/hello', 'file'],
      ['bin/sh', 'symlink'],
    ]);
    // the writer keeps what an entry says it is; buildFromDir is what zeroes times and owners
    expect(listed[1]).toMatchObject({ text: 'hi\n', mtime: 12345, uid: 7 });
    const again = await buildImage([entries], config, { blobSink: memoryBlobSink });
    expect(again.manifest.digest.equals(image.manifest.digest)).toBe(true);
  });

  it('builds from tar bytes and compressed tar streams with the tar digest as diff_id', async () => {
    const tar = await collectBytes(writeTar(entries));
    const diffId = (await computeDigest(tar)).toString();
    const fromBytes = await buildImage([tar], {}, { blobSink: memoryBlobSink, compression: 'none' });
    expect(imageLayers(fromBytes)[0]?.diffId).toBe(diffId);
    // uncompressed: the blob is the tar itself
    expect(fromBytes.manifest.json.layers[0]).toMatchObject({
      mediaType: MediaTypes.OciLayer,
      digest: diffId,
    });
    const gzipped = execFileSync('gzip', ['-c'], { input: tar });
    const fromStream = await buildImage(
      [new Blob([gzipped]).stream()],
      {},
      { blobSink: memoryBlobSink, compression: 'zstd' },
    );
    expect(imageLayers(fromStream)[0]?.diffId).toBe(diffId);
    expect(fromStream.manifest.json.layers[0]?.mediaType).toBe(MediaTypes.OciLayerZstd);
  });

  it('takes a platform, a full config, a created time and annotations', async () => {
    const image = await buildImage(
      [entries],
      {
        architecture: 'amd64',
        os: 'linux',
        config: { User: 'nobody' },
        rootfs: { type: 'layers', diff_ids: [] },
      },
      {
        blobSink: memoryBlobSink,
        platform: 'linux/arm64/v8',
        created: new Date('2024-05-06T07:08:09Z'),
        annotations: { 'org.opencontainers.image.title': 't' },
      },
    );
    expect(image.config).toMatchObject({
      architecture: 'arm64',
      variant: 'v8',
      created: '2024-05-06T07:08:09Z',
    });
    expect(image.config.config?.User).toBe('nobody');
    expect(image.manifest.json.annotations).toEqual({ 'org.opencontainers.image.title': 't' });
  });

  it('refuses zstd with the Docker format before reading anything', async () => {
    const untouched: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]() {
        throw new Error('the input was read');
      },
    };
    await expect(
      buildImage([untouched], {}, { format: 'docker', compression: 'zstd', blobSink: memoryBlobSink }),
    ).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE' });
  });

  it('builds Docker images with Docker media types', async () => {
    const image = await buildImage([entries], {}, { format: 'docker', blobSink: memoryBlobSink });
    expect(image.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(image.manifest.json.layers[0]?.mediaType).toBe(MediaTypes.DockerLayerGzip);
  });

  it('writes every layer of one build to one temporary directory by default', async () => {
    // Unique content, so the directories of builds running beside this one do not count.
    const marker = randomUUID();
    const image = await buildImage(
      [
        [{ name: 'one', type: 'file', content: new TextEncoder().encode(`one ${marker}`) }],
        [{ name: 'two', type: 'file', content: new TextEncoder().encode(`two ${marker}`) }],
      ],
      {},
    );
    const digests = imageLayers(image).map((layer) => layer.descriptor.digest.toString());
    const holding = await blobSinkDirectoriesHolding(digests);
    try {
      expect(holding).toHaveLength(1);
      expect(holding[0]?.files).toEqual(
        expect.arrayContaining(digests.map((digest) => digest.replace(':', '-'))),
      );
      expect((await listLayer(image, 1)).map((entry) => entry.name)).toEqual(['two']);
    } finally {
      for (const { path } of holding) await rm(path, { recursive: true, force: true });
    }
  });

  it('refuses inputs of no known kind', async () => {
    await expect(
      buildImage([42 as unknown as Uint8Array], {}, { blobSink: memoryBlobSink }),
    ).rejects.toMatchObject({
      code: 'ERR_LAYER_INPUT_INVALID',
    });
  });
});

/** A source of one blob that counts the times it is opened and fails them. */
function untouchableBlobs(digest: string): BlobSource & { opens: number } {
  return {
    opens: 0,
    async openBlob(descriptor) {
      if (descriptor.digest !== digest) return undefined;
      this.opens++;
      throw new Error(`${digest} was read`);
    },
  };
}

describe('appendLayer', () => {
  it('keeps the subject, annotations and tag, and never reads the layers below', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const blobs = untouchableBlobs(digest);
    const below: Layer = {
      descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: 10 },
      diffId: `sha256:${'d'.repeat(64)}`,
      blobs,
    };
    const subject = { mediaType: MediaTypes.OciManifest, digest: `sha256:${'5'.repeat(64)}`, size: 123 };
    const base = await assembleImage(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
      [below],
      { subject, annotations: { 'org.example': 'kept' }, tag: 'base' },
    );
    const appended = await appendLayer(base, [{ name: 'app', type: 'file', content: new Uint8Array([1]) }], {
      blobSink: memoryBlobSink,
    });
    expect(appended.manifest.json.subject).toEqual(subject);
    expect(appended.manifest.json.annotations).toEqual({ 'org.example': 'kept' });
    expect(appended.tag).toBe('base');
    expect(appended.manifest.json.layers[0]).toEqual(below.descriptor);
    expect(blobs.opens).toBe(0);
    expect((await listLayer(appended, 1)).map((entry) => entry.name)).toEqual(['app']);
  });

  it('adds a layer and a history entry, keeping the base layers and format', async () => {
    const base = await buildImage([entries], { cmd: ['sh'] }, { blobSink: memoryBlobSink, format: 'docker' });
    const appended = await appendLayer(
      base,
      [{ name: 'app', type: 'file', content: new Uint8Array([1, 2, 3]) }],
      {
        blobSink: memoryBlobSink,
      },
    );
    expect(appended.manifest.mediaType).toBe(MediaTypes.DockerManifest);
    expect(imageLayers(appended).map((layer) => layer.descriptor.digest)).toEqual([
      ...imageLayers(base).map((layer) => layer.descriptor.digest),
      expect.any(String),
    ]);
    expect(appended.config.history?.map((entry) => entry.created_by)).toEqual([
      'stevedore build',
      'stevedore append',
    ]);
    expect(appended.config.config?.Cmd).toEqual(['sh']);
    expect((await listLayer(appended, 1)).map((entry) => entry.name)).toEqual(['app']);
    await expect(
      appendLayer(base, [], { compression: 'zstd', blobSink: memoryBlobSink }),
    ).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
    });
  });
});

/** A tree with what a layer must keep: modes, links, empty dirs, long and non-ASCII names. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'empty'), { recursive: true });
  await mkdir(join(root, 'dir/sub'), { recursive: true });
  await writeFile(join(root, 'dir/sub/file.txt'), 'content\n');
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\n');
  await chmod(join(root, 'run.sh'), 0o4755);
  await link(join(root, 'run.sh'), join(root, 'hardlink.sh'));
  await symlink('dir/sub/file.txt', join(root, 'link'));
  await writeFile(join(root, 'ünïcødé-名前.txt'), 'utf8\n');
  const long = join(root, 'l'.repeat(120), 'm'.repeat(150));
  await mkdir(long, { recursive: true });
  await writeFile(join(long, 'deep.txt'), 'deep\n');
}

describe('buildFromDir', () => {
  it('writes the tree in byte order, zeroing times and owners, with hardlinks and symlinks', async () => {
    const root = join(scratch, 'tree');
    await makeTree(root);
    const events: BuildEvent[] = [];
    const image = await buildFromDir(
      root,
      { cmd: ['/run.sh'] },
      { blobDirectory: join(scratch, 'blobs'), onEvent: (e) => events.push(e) },
    );
    const listed = await listLayer(image);
    expect(listed.map((entry) => entry.name)).toEqual([
      'dir/',
      'dir/sub/',
      'dir/sub/file.txt',
      'empty/',
      'hardlink.sh',
      'link',
      `${'l'.repeat(120)}/`,
      `${'l'.repeat(120)}/${'m'.repeat(150)}/`,
      `${'l'.repeat(120)}/${'m'.repeat(150)}/deep.txt`,
      'run.sh',
      'ünïcødé-名前.txt',
    ]);
    const byName = new Map(listed.map((entry) => [entry.name, entry]));
    expect(byName.get('hardlink.sh')).toMatchObject({ type: 'file', mode: 0o4755, text: '#!/bin/sh\n' });
    expect(byName.get('run.sh')).toMatchObject({ type: 'hardlink', linkname: 'hardlink.sh' });
    expect(byName.get('link')).toMatchObject({ type: 'symlink', linkname: 'dir/sub/file.txt' });
    expect(byName.get('ünïcødé-名前.txt')).toMatchObject({ text: 'utf8\n' });
    expect(listed.every((entry) => entry.mtime === 0 && entry.uid === 0)).toBe(true);
    expect(events.filter((event) => event.type === 'layer')).toHaveLength(1);
    // blobs went to the directory asked for, under their digests
    expect(await readdir(join(scratch, 'blobs'))).toContain(
      image.manifest.json.layers[0]?.digest.replace(':', '-'),
    );
  });

  it.each([
    ['gzip', 'a blob directory'],
    ['zstd', 'a blob directory'],
    ['none', 'a blob directory'],
    ['none', 'memory'],
  ] as const)(
    'keeps the bytes of large files read one after another (%s, into %s)',
    async (compression, sink) => {
      // Files over 128 KiB are read through buffers shared from file to file: each file's
      // bytes, chunk boundaries included, must come out whole and in place.
      const root = join(scratch, `large-${compression}-${sink.replace(' ', '-')}`);
      await mkdir(root, { recursive: true });
      const sizes = { a: 3 * MiB + 17, b: 128 * 1024 + 1, c: 1, d: 2 * MiB, e: 1 * MiB - 3 };
      const contents = new Map<string, Uint8Array>();
      for (const [name, size] of Object.entries(sizes)) {
        const bytes = pseudoRandomBytes(size, name.charCodeAt(0));
        contents.set(name, bytes);
        await writeFile(join(root, name), bytes);
      }
      const image = await buildFromDir(
        root,
        {},
        {
          compression,
          ...(sink === 'memory'
            ? { blobSink: memoryBlobSink }
            : { blobDirectory: join(root, '..', `blobs-${compression}`) }),
        },
      );
      const layer = imageLayers(image)[0] as NonNullable<ReturnType<typeof imageLayers>[number]>;
      const read = new Map<string, Uint8Array>();
      for await (const entry of readTar(await readLayerTar(layer)))
        read.set(entry.name, await collectBytes(entry.content));
      expect([...read.keys()]).toEqual(Object.keys(sizes));
      for (const [name, bytes] of contents)
        expect(Buffer.compare(read.get(name) as Uint8Array, bytes)).toBe(0);
    },
  );

  it('skips sockets with a warning event', async () => {
    const root = join(scratch, 'with-socket');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'a'), 'a');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
    try {
      const events: BuildEvent[] = [];
      const image = await buildFromDir(
        root,
        {},
        { blobSink: memoryBlobSink, onEvent: (e) => events.push(e) },
      );
      expect((await listLayer(image)).map((entry) => entry.name)).toEqual(['a']);
      expect(events).toContainEqual(expect.objectContaining({ type: 'warning', path: join(root, 'sock') }));
    } finally {
      server.close();
    }
  });

  it('fails with ERR_READ_FAILED naming an unreadable file', async () => {
    const root = join(scratch, 'unreadable');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'secret'), 'x');
    await chmod(join(root, 'secret'), 0o000);
    await chmod(root, 0o755);
    await chmod(scratch, 0o755);
    // Root reads anything, so run the build as nobody when we are root.
    const script = `
      if (process.getuid() === 0) { process.setgid(65534); process.setuid(65534); }
      const { buildFromDir } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)});
      const { memoryBlobSink } = await import(${JSON.stringify(new URL('../../image/src/index.ts', import.meta.url).pathname)});
      try { await buildFromDir(${JSON.stringify(root)}, {}, { blobSink: memoryBlobSink }); console.log('built'); }
      catch (error) { console.log(JSON.stringify({ code: error.code, path: error.path, message: error.message })); }`;
    const output = execFileSync(process.execPath, ['--input-type=module', '--eval', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toMatchObject({ code: 'ERR_READ_FAILED', path: join(root, 'secret') });
    expect(JSON.parse(output).message).toContain(join(root, 'secret'));
  });

  it('refuses a path that is not a directory', async () => {
    await writeFile(join(scratch, 'plain'), 'x');
    await expect(buildFromDir(join(scratch, 'plain'), {})).rejects.toMatchObject({
      code: 'ERR_LAYER_INPUT_INVALID',
    });
    await expect(buildFromDir(join(scratch, 'missing'), {})).rejects.toMatchObject({
      code: 'ERR_READ_FAILED',
    });
  });

  it.each(['gzip', 'zstd', 'none'] as const)(
    'gives the same digest after touching every file and under another umask (%s)',
    async (compression) => {
      const root = join(scratch, `determinism-${compression}`);
      await makeTree(root);
      const first = await buildFromDir(root, { cmd: ['x'] }, { compression, blobSink: memoryBlobSink });
      const later = new Date(Date.now() + 86_400_000);
      for (const name of ['dir/sub/file.txt', 'run.sh', 'empty', 'dir', 'ünïcødé-名前.txt']) {
        await utimes(join(root, name), later, later);
      }
      const umask = process.umask(0o077);
      try {
        const second = await buildFromDir(
          root,
          { cmd: ['x'] },
          { compression, blobDirectory: join(scratch, `b-${compression}`) },
        );
        expect(second.manifest.digest.toString()).toBe(first.manifest.digest.toString());
      } finally {
        process.umask(umask);
      }
    },
  );
});

const MiB = 1024 * 1024;

// Bytes that differ at every offset and from seed to seed, so a chunk read into the wrong
// place or overwritten before use shows.
function pseudoRandomBytes(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed * 2654435761;
  for (let index = 0; index < size; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}
