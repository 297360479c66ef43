// Bad input through every transport: truncated archives, index.json or manifest.json
// naming files that are not there, blobs whose bytes are not what their names say. Each
// copy must fail with a typed error naming the path or digest involved, leave nothing
// unverified under a digest at the destination, no temporary file, no finished archive,
// and nothing written outside the destination.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { StevedoreError } from '@stevedore/errors';
import { assembleIndex, type ImageNode, imageBlobs } from '@stevedore/image';
import { manifestConfig, manifestLayers } from '@stevedore/manifest';
import {
  leftovers,
  rewriteTar,
  smallImage,
  type TarEntryLayout,
  tarLayout,
} from '@stevedore-internal/test-support';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { copy, readSource } from './index.ts';

const TRANSPORTS = ['oci', 'oci-archive', 'docker-archive', 'dir', 'static'] as const;
type Transport = (typeof TRANSPORTS)[number];
const ARCHIVES: readonly Transport[] = ['oci-archive', 'docker-archive'];

/** Where a transport keeps an image under `dir`, and the endpoint that names it. */
function place(transport: Transport, dir: string): { path: string; endpoint: string } {
  switch (transport) {
    case 'oci':
      return { path: join(dir, 'layout'), endpoint: `oci:${join(dir, 'layout')}:v1` };
    case 'oci-archive':
      return { path: join(dir, 'image.tar'), endpoint: `oci-archive:${join(dir, 'image.tar')}:v1` };
    case 'docker-archive':
      return { path: join(dir, 'docker.tar'), endpoint: `docker-archive:${join(dir, 'docker.tar')}:app:v1` };
    case 'dir':
      return { path: join(dir, 'dir'), endpoint: `dir:${join(dir, 'dir')}` };
    case 'static':
      return { path: join(dir, 'site'), endpoint: `static:${join(dir, 'site')}:app:v1` };
  }
}

/** A source as written, and the digests of its parts as its own transport reads them back. */
interface Source {
  readonly transport: Transport;
  readonly path: string;
  readonly endpoint: string;
  readonly manifest: string;
  readonly config: string;
  readonly layer: string;
  /** For an index: its first child's manifest. */
  readonly child: string;
}

type Part = 'manifest' | 'config' | 'layer' | 'child' | 'top';

const hex = (digest: string) => digest.slice(digest.indexOf(':') + 1);

/** Where a part of a source is: a file, or an entry of the archive. */
function locate(source: Source, part: Part): string {
  const { transport, path } = source;
  const digest = source[part === 'top' ? 'manifest' : part];
  switch (transport) {
    case 'oci':
      return part === 'top' ? join(path, 'index.json') : join(path, 'blobs', 'sha256', hex(digest));
    case 'oci-archive':
      return part === 'top' ? 'index.json' : `blobs/sha256/${hex(digest)}`;
    case 'docker-archive':
      if (part === 'top') return 'manifest.json';
      if (part === 'config') return `${hex(digest)}.json`;
      if (part === 'layer') return `${hex(digest)}/layer.tar`;
      throw new Error(`a docker-archive keeps no ${part} blob`);
    case 'dir':
      if (part === 'top' || part === 'manifest') return join(path, 'manifest.json');
      return join(path, part === 'child' ? `${hex(digest)}.manifest.json` : hex(digest));
    case 'static': {
      const base = join(path, 'v2', 'app');
      if (part === 'top') return join(base, 'manifests', 'v1');
      return join(base, part === 'manifest' || part === 'child' ? 'manifests' : 'blobs', digest);
    }
  }
}

/** Replaces a part's bytes with `change(bytes)`, or removes the part when that is undefined. */
async function damage(
  source: Source,
  part: Part,
  change: (bytes: Uint8Array) => Uint8Array | undefined,
): Promise<void> {
  const where = locate(source, part);
  if (!ARCHIVES.includes(source.transport)) {
    const changed = change(new Uint8Array(await readFile(where)));
    await (changed === undefined ? rm(where) : writeFile(where, changed));
    return;
  }
  let found = false;
  const rewritten = await rewriteTar(new Uint8Array(await readFile(source.path)), (entry) => {
    if (entry.name !== where) return entry;
    found = true;
    const content = change(entry.content);
    return content === undefined ? undefined : { ...entry, content };
  });
  expect(found, `${where} in ${source.path}`).toBe(true);
  await writeFile(source.path, rewritten);
}

const flipped = (bytes: Uint8Array) => {
  const copy = bytes.slice();
  const middle = Math.floor(copy.length / 2);
  copy[middle] = (copy[middle] ?? 0) ^ 0x20;
  return copy;
};
const longer = (bytes: Uint8Array) => Uint8Array.of(...bytes, 0x0a);
const shorter = (bytes: Uint8Array) => bytes.slice(0, -1);
const removed = () => undefined;

/** Cuts an archive source at `at(layout)`, a byte offset found from where its entries lie. */
async function cut(source: Source, at: (layout: readonly TarEntryLayout[]) => number): Promise<void> {
  const bytes = new Uint8Array(await readFile(source.path));
  const offset = at(await tarLayout(bytes));
  expect(offset).toBeLessThan(bytes.length);
  await writeFile(source.path, bytes.subarray(0, offset));
}

function entryOf(layout: readonly TarEntryLayout[], name: string): TarEntryLayout {
  const entry = layout.find((candidate) => candidate.name === name);
  if (entry === undefined) throw new Error(`no ${name} in the archive`);
  return entry;
}

/** What a failed copy must have thrown: its code, and what its message must name. */
interface Expected {
  readonly code: string;
  readonly names: readonly string[];
}

interface Corruption {
  readonly name: string;
  readonly sources: readonly Transport[];
  /** The image written as the source; an index is copied whole. */
  readonly fixture?: 'image' | 'index';
  apply(source: Source): Promise<Expected>;
}

const ALL = TRANSPORTS;
const CONTENT_ADDRESSED: readonly Transport[] = ['oci', 'oci-archive', 'dir', 'static'];

const corruptions: readonly Corruption[] = [
  // Truncated archives: the reader finds the cut before anything is written.
  {
    name: 'an archive cut inside the layer entry header',
    sources: ARCHIVES,
    async apply(source) {
      await cut(source, (layout) => entryOf(layout, locate(source, 'layer')).headerOffset + 100);
      return { code: 'ERR_TAR_TRUNCATED', names: [source.path] };
    },
  },
  {
    name: 'an archive cut inside the layer blob',
    sources: ARCHIVES,
    async apply(source) {
      await cut(source, (layout) => {
        const entry = entryOf(layout, locate(source, 'layer'));
        return entry.offset + Math.floor(entry.size / 2);
      });
      return { code: 'ERR_TAR_TRUNCATED', names: [source.path] };
    },
  },
  {
    name: 'an archive cut inside the config blob',
    sources: ARCHIVES,
    async apply(source) {
      await cut(source, (layout) => {
        const entry = entryOf(layout, locate(source, 'config'));
        return entry.offset + Math.floor(entry.size / 2);
      });
      return { code: 'ERR_TAR_TRUNCATED', names: [source.path] };
    },
  },
  {
    name: 'an archive cut just before index.json or manifest.json',
    sources: ARCHIVES,
    async apply(source) {
      const top = locate(source, 'top');
      await cut(source, (layout) => entryOf(layout, top).headerOffset);
      return { code: 'ERR_LAYOUT_INVALID', names: [source.path, top] };
    },
  },
  {
    name: 'an archive cut to nothing',
    sources: ARCHIVES,
    async apply(source) {
      await cut(source, () => 0);
      return { code: 'ERR_LAYOUT_INVALID', names: [source.path] };
    },
  },
  // index.json or manifest.json naming files that are not there.
  {
    name: 'no index.json or manifest.json',
    sources: ALL,
    async apply(source) {
      await damage(source, 'top', removed);
      if (source.transport === 'static') return { code: 'ERR_TAG_NOT_FOUND', names: [source.path, 'v1'] };
      return { code: 'ERR_LAYOUT_INVALID', names: [source.path, basename(locate(source, 'top'))] };
    },
  },
  {
    name: 'index.json naming a manifest that is missing',
    sources: ['oci', 'oci-archive'],
    async apply(source) {
      await damage(source, 'manifest', removed);
      return { code: 'ERR_BLOB_NOT_FOUND', names: [source.manifest] };
    },
  },
  {
    name: 'an index naming a child manifest that is missing',
    sources: CONTENT_ADDRESSED,
    fixture: 'index',
    async apply(source) {
      await damage(source, 'child', removed);
      return { code: 'ERR_BLOB_NOT_FOUND', names: [source.child] };
    },
  },
  {
    name: 'a manifest naming a config that is missing',
    sources: ALL,
    async apply(source) {
      await damage(source, 'config', removed);
      return source.transport === 'docker-archive'
        ? { code: 'ERR_LAYOUT_INVALID', names: [source.path, locate(source, 'config')] }
        : { code: 'ERR_BLOB_NOT_FOUND', names: [source.config] };
    },
  },
  {
    name: 'a manifest naming a layer that is missing',
    sources: ALL,
    async apply(source) {
      await damage(source, 'layer', removed);
      return source.transport === 'docker-archive'
        ? { code: 'ERR_LAYOUT_INVALID', names: [source.path, locate(source, 'layer')] }
        : { code: 'ERR_BLOB_NOT_FOUND', names: [source.layer] };
    },
  },
  // Blobs whose bytes are not what their names say.
  {
    name: 'a layer blob with a flipped byte',
    sources: ALL,
    async apply(source) {
      await damage(source, 'layer', flipped);
      return { code: 'ERR_DIGEST_MISMATCH', names: [source.layer] };
    },
  },
  {
    name: 'a layer blob one byte longer',
    sources: ALL,
    async apply(source) {
      await damage(source, 'layer', longer);
      // A docker-archive's layer size is the tar entry's: only the digest can tell.
      const code = source.transport === 'docker-archive' ? 'ERR_DIGEST_MISMATCH' : 'ERR_SIZE_MISMATCH';
      return { code, names: [source.layer] };
    },
  },
  {
    name: 'a layer blob one byte shorter',
    sources: ALL,
    async apply(source) {
      await damage(source, 'layer', shorter);
      const code = source.transport === 'docker-archive' ? 'ERR_DIGEST_MISMATCH' : 'ERR_SIZE_MISMATCH';
      return { code, names: [source.layer] };
    },
  },
  {
    name: 'a config blob with a flipped byte',
    // A docker-archive's `<hex>.json` is a convention, not a content address: docker load
    // and skopeo name the config by hashing it, and so does Stevedore.
    sources: CONTENT_ADDRESSED,
    async apply(source) {
      await damage(source, 'config', flipped);
      return { code: 'ERR_DIGEST_MISMATCH', names: [source.config] };
    },
  },
  {
    name: 'a config blob one byte longer',
    sources: CONTENT_ADDRESSED,
    async apply(source) {
      await damage(source, 'config', longer);
      return { code: 'ERR_SIZE_MISMATCH', names: [source.config] };
    },
  },
  {
    name: 'a manifest blob with a flipped byte',
    // dir: and static: read the top manifest by name (manifest.json, a tag), not by digest.
    sources: ['oci', 'oci-archive'],
    async apply(source) {
      await damage(source, 'manifest', flipped);
      return { code: 'ERR_DIGEST_MISMATCH', names: [source.manifest] };
    },
  },
  {
    name: 'a child manifest with a flipped byte',
    sources: CONTENT_ADDRESSED,
    fixture: 'index',
    async apply(source) {
      await damage(source, 'child', flipped);
      return { code: 'ERR_DIGEST_MISMATCH', names: [source.child] };
    },
  },
];

// Each source is written once, pristine, and copied for each test to damage.
let pristine: string;
const written = new Map<string, Promise<Source>>();
beforeAll(async () => {
  pristine = await mkdtemp(join(tmpdir(), 'stevedore-bad-input-sources-'));
});
afterAll(async () => {
  await rm(pristine, { recursive: true, force: true });
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-bad-input-'));
  await mkdir(join(root, 'out'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fixture(kind: 'image' | 'index'): Promise<ImageNode> {
  const image = await smallImage('bad-input');
  if (kind === 'image') return image;
  return assembleIndex([image, await smallImage('bad-input-arm', 'arm64', 'v8')]);
}

async function writePristine(transport: Transport, kind: 'image' | 'index'): Promise<Source> {
  const { path, endpoint } = place(transport, join(pristine, `${transport}-${kind}`));
  await copy(await fixture(kind), endpoint, { all: true });
  // Digests as the source's own transport reads them (a docker-archive's differ).
  const node = await readSource(endpoint);
  const image = node.kind === 'index' ? node.children[0] : node;
  if (image === undefined || image.kind !== 'image')
    throw new Error('the fixture is an image or an index of images');
  const [layer] = manifestLayers(image.manifest);
  return {
    transport,
    path,
    endpoint,
    manifest: node.manifest.digest.toString(),
    config: manifestConfig(image.manifest).digest,
    layer: layer?.digest ?? '',
    child: image.manifest.digest.toString(),
  };
}

/** A fresh copy of a pristine source, under this test's root. */
async function writeSource(transport: Transport, kind: 'image' | 'index'): Promise<Source> {
  const key = `${transport}-${kind}`;
  let source = written.get(key);
  if (source === undefined) {
    source = writePristine(transport, kind);
    written.set(key, source);
  }
  const original = await source;
  const { path, endpoint } = place(transport, join(root, 'source'));
  await cp(original.path, path, { recursive: true });
  return { ...original, path, endpoint };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file and folder under `dir`, but `except`, with a hash of each file's bytes. */
async function snapshot(dir: string, except: string): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (path === except || path.startsWith(`${except}${sep}`)) continue;
    seen[relative(dir, path)] = entry.isFile()
      ? sha256(new Uint8Array(await readFile(path)))
      : entry.isDirectory()
        ? 'dir'
        : 'other';
  }
  return seen;
}

const matrix = corruptions.flatMap((corruption) =>
  corruption.sources.map((from) => [from, corruption.name, corruption] as const),
);

describe.each(matrix)('from %s: %s', (from, _name, corruption) => {
  test.each(TRANSPORTS)('to %s fails with a typed error and leaves nothing behind', async (to) => {
    const source = await writeSource(from, corruption.fixture ?? 'image');
    const expected = await corruption.apply(source);
    const destination = place(to, join(root, 'out'));
    const before = await snapshot(root, destination.path);

    const error = await copy(source.endpoint, destination.endpoint, { all: true }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    expect(StevedoreError.is(error), String(error)).toBe(true);
    expect(error).toMatchObject({ code: expected.code });
    for (const name of expected.names) expect((error as Error).message).toContain(name);
    // Nothing outside the destination changed: the source is intact, no temporary file beside an archive.
    expect(await snapshot(root, destination.path)).toEqual(before);
    if (ARCHIVES.includes(to)) {
      await expect(stat(destination.path)).rejects.toMatchObject({ code: 'ENOENT' });
    } else {
      expect(await leftovers(destination.path)).toEqual([]);
    }
    // And the destination shows no image.
    await expect(readSource(destination.endpoint)).rejects.toThrow();
  });
});

describe('the same sources, undamaged', () => {
  test.each(TRANSPORTS.flatMap((from) => TRANSPORTS.map((to) => [from, to] as const)))(
    'copy from %s to %s',
    async (from, to) => {
      const source = await writeSource(from, 'image');
      const destination = place(to, join(root, 'out'));
      await copy(source.endpoint, destination.endpoint);
      const read = await readSource(destination.endpoint);
      const [config, layer] = read.kind === 'image' ? imageBlobs(read).map((blob) => blob.digest) : [];
      expect(config).toBe(source.config);
      // docker-archive: stores layers uncompressed, so only a copy from one keeps their digests.
      if (to !== 'docker-archive' || from === 'docker-archive') expect(layer).toBe(source.layer);
      if (!ARCHIVES.includes(to)) expect(await leftovers(destination.path)).toEqual([]);
    },
  );
});
