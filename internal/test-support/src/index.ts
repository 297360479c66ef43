// Small images for tests: layers whose bytes are short strings (assembleImage never reads
// layer bytes, so they need not be real tar+gzip), stream collectors, and checks of what
// a write left on disk.
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { readTar, type TarEntryInput, type TarEntryType, writeTar } from '@stevedore/archive';
import { collectBytes, computeDigest } from '@stevedore/digest';
import {
  assembleImage,
  type BlobSource,
  createLayer,
  type Image,
  type Layer,
  memoryBlobSink,
  memoryBlobSource,
} from '@stevedore/image';
import { type ImageConfig, MediaTypes } from '@stevedore/manifest';

const encoder = new TextEncoder();

/** A minimal config for test images. */
export const testConfig: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
};

/**
 * A layer whose digest is that of `text`; its blob source serves `bytes` (the same text by
 * default; something else to make a blob that is not what its descriptor says).
 */
export async function fakeLayer(text: string, bytes: Uint8Array = encoder.encode(text)): Promise<Layer> {
  const digest = (await computeDigest(encoder.encode(text))).toString();
  return {
    descriptor: { mediaType: MediaTypes.OciLayerGzip, digest, size: bytes.byteLength },
    diffId: (await computeDigest(encoder.encode(`diff ${text}`))).toString(),
    blobs: memoryBlobSource({ [digest]: bytes }),
  };
}

/** A one-layer image for an architecture. */
export async function fakeImage(text: string, architecture = 'amd64'): Promise<Image> {
  return assembleImage({ ...testConfig, architecture }, [await fakeLayer(text)]);
}

/** A one-layer image whose layer blob is not what its descriptor says. */
export async function tamperedImage(): Promise<{ image: Image; layer: Layer }> {
  const layer = await fakeLayer('good', encoder.encode('evil'));
  return { image: await assembleImage(testConfig, [layer]), layer };
}

/** A stream read whole, as text. */
export async function readText(stream: AsyncIterable<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await collectBytes(stream));
}

/** A real one-layer image (a gzip tar holding one file named `name`), for a platform. */
export async function smallImage(name: string, architecture = 'amd64', variant?: string): Promise<Image> {
  const content = encoder.encode(name);
  const layer = await createLayer(writeTar([{ name, type: 'file', content }]), { sink: memoryBlobSink });
  return assembleImage({ ...testConfig, architecture, ...(variant === undefined ? {} : { variant }) }, [
    layer,
  ]);
}

/** Where one entry of a tar held in memory lies. */
export interface TarEntryLayout {
  readonly name: string;
  readonly type: TarEntryType;
  /** The first byte of the entry's header blocks (extended headers included). */
  readonly headerOffset: number;
  /** The first byte of its content. */
  readonly offset: number;
  readonly size: number;
}

/** The entries of a tar, in order, with where each one's headers and content start. */
export async function tarLayout(bytes: Uint8Array): Promise<TarEntryLayout[]> {
  const layout: TarEntryLayout[] = [];
  let next = 0;
  for await (const entry of readTar(bytes)) {
    layout.push({
      name: entry.name,
      type: entry.type,
      headerOffset: next,
      offset: entry.offset,
      size: entry.size,
    });
    next = entry.offset + Math.ceil(entry.size / 512) * 512;
  }
  return layout;
}

/** A file entry of a tar read whole, as {@link rewriteTar} hands it to its `edit`. */
export type WholeTarEntry = TarEntryInput & { readonly content: Uint8Array };

/**
 * A tar rebuilt entry by entry (contents read whole): `edit` returns the entry to write
 * in its place, or undefined to leave it out. For archives made wrong on purpose.
 */
export async function rewriteTar(
  bytes: Uint8Array,
  edit: (entry: WholeTarEntry) => TarEntryInput | undefined,
): Promise<Uint8Array> {
  const entries: TarEntryInput[] = [];
  for await (const { content, offset: _offset, size: _size, ...header } of readTar(bytes)) {
    const edited = edit({ ...header, content: await collectBytes(content) });
    if (edited !== undefined) entries.push(edited);
  }
  return collectBytes(writeTar(entries));
}

/**
 * A real image of `layers` gzip layers, each a tar holding one file of `bytesPerLayer`
 * random (incompressible) bytes: big enough that its blobs move in several chunks.
 */
export async function multiChunkImage(layers: number, bytesPerLayer: number): Promise<Image> {
  const made: Layer[] = [];
  for (let position = 0; position < layers; position++) {
    const content = new Uint8Array(bytesPerLayer);
    for (let offset = 0; offset < content.length; offset += 65_536) {
      crypto.getRandomValues(content.subarray(offset, offset + 65_536));
    }
    const tar = writeTar([{ name: `file-${position}`, type: 'file', content }]);
    made.push(await createLayer(tar, { sink: memoryBlobSink }));
  }
  return assembleImage(testConfig, made);
}

/** Every file under `dir` (relative, `/`-separated), sorted; none when `dir` is absent. */
export async function filesUnder(dir: string): Promise<string[]> {
  const found = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  });
  return found
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

// blobs/sha256/<hex> (oci:), <hex> and <hex>.manifest.json (dir:), blobs/sha256:<hex> (static:).
const DIGEST_NAMED = /(?:^|[/:-])([0-9a-f]{64})(?:\.manifest\.json)?$/;

/**
 * What a failed or aborted write left wrong in a directory destination: temporary files,
 * and files named by a sha256 digest (as the local transports name blobs and manifests)
 * whose bytes hash to something else. None when `dir` is absent.
 */
export async function leftovers(dir: string): Promise<string[]> {
  const wrong: string[] = [];
  for (const name of await filesUnder(dir)) {
    if (name.split('/').at(-1)?.startsWith('.tmp')) wrong.push(`${name} (temporary)`);
    const expected = DIGEST_NAMED.exec(name)?.[1];
    if (expected === undefined) continue;
    const actual = await computeDigest(new Uint8Array(await readFile(join(dir, name))));
    if (actual.encoded !== expected) wrong.push(`${name} (does not hash to its name)`);
  }
  return wrong;
}

/**
 * The temporary directories of the default blob sink (`stevedore-blobs-*` under the
 * system's temporary directory) holding any of the blobs `digests` names, with the files
 * each holds. Give blobs of unique content so that directories of other tests do not count.
 */
export async function blobSinkDirectoriesHolding(
  digests: readonly string[],
): Promise<Array<{ readonly path: string; readonly files: string[] }>> {
  const names = digests.map((digest) => digest.replace(':', '-'));
  const holding: Array<{ path: string; files: string[] }> = [];
  for (const entry of await readdir(tmpdir())) {
    if (!entry.startsWith('stevedore-blobs-')) continue;
    const path = join(tmpdir(), entry);
    const files = await readdir(path).catch((): string[] => []);
    if (names.some((name) => files.includes(name))) holding.push({ path, files });
  }
  return holding;
}

/**
 * `source`, but a reader that opens a blob with `transientChunks` gets its chunks through
 * one reused buffer that is spoilt (filled with 0xee) as soon as the next chunk is asked
 * for, as a registry's reused socket buffers would be: a reader that keeps a chunk past
 * that point writes garbage. Other readers get `source`'s chunks.
 */
export function reusingBlobSource(source: BlobSource, chunkSize = 16_384): BlobSource {
  return {
    async openBlob(descriptor, options = {}) {
      const content = await source.openBlob(descriptor, options);
      if (content === undefined || options.transientChunks !== true) return content;
      const whole = await collectBytes(content);
      return (async function* () {
        const buffer = new Uint8Array(chunkSize);
        for (let offset = 0; offset < whole.length; offset += chunkSize) {
          const piece = whole.subarray(offset, offset + chunkSize);
          buffer.set(piece);
          yield buffer.subarray(0, piece.length);
          buffer.fill(0xee);
        }
      })();
    },
  };
}
