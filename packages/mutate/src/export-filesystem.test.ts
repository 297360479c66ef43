import { readTar, type TarEntryInput, writeTar } from '@stevedore/archive';
import { collectBytes } from '@stevedore/digest';
import {
  assembleImage,
  assembleIndex,
  createLayer,
  type Image,
  imageLayers,
  memoryBlobSink,
  readLayerTar,
} from '@stevedore/image';
import type { ImageConfig } from '@stevedore/manifest';
import { describe, expect, it } from 'vitest';
import { exportFilesystem, flatten, MutateError } from './index.ts';

const text = (value: string) => new TextEncoder().encode(value);
const file = (name: string, content: string | Uint8Array): TarEntryInput => ({
  name,
  type: 'file',
  content: typeof content === 'string' ? text(content) : content,
});

const config: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
};

async function imageOf(layers: TarEntryInput[][]): Promise<Image> {
  const built = [];
  for (const entries of layers) built.push(await createLayer(writeTar(entries), { sink: memoryBlobSink }));
  return assembleImage(config, built);
}

async function filesOf(tar: Uint8Array): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const entry of readTar(tar)) {
    const content = await collectBytes(entry.content);
    files[entry.name] = entry.type === 'file' ? new TextDecoder().decode(content) : entry.type;
  }
  return files;
}

describe('exportFilesystem', () => {
  it("streams the tar of flatten's layer: later layers win, whiteouts applied", async () => {
    const image = await imageOf([
      [{ name: 'etc', type: 'directory' }, file('etc/os', 'base'), file('gone', 'x'), file('kept', 'k')],
      [file('etc/os', 'app'), file('.wh.gone', ''), { name: 'link', type: 'symlink', linkname: 'kept' }],
    ]);
    const exported = await collectBytes(exportFilesystem(image));
    expect(await filesOf(exported)).toEqual({
      'etc/': 'directory',
      'etc/os': 'app',
      kept: 'k',
      link: 'symlink',
    });

    const flat = await flatten(image, { compression: 'none', blobSink: memoryBlobSink });
    const [layer] = imageLayers(flat);
    expect(layer).toBeDefined();
    expect(exported).toEqual(await collectBytes(await readLayerTar(layer as NonNullable<typeof layer>)));
  });

  it('hands out a big file in several chunks, and stops reading when the reader stops', async () => {
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    const image = await imageOf([[file('big', big)], [file('small', 's')]]);
    let chunks = 0;
    let bytes = 0;
    for await (const chunk of exportFilesystem(image)) {
      chunks++;
      bytes += chunk.byteLength;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(bytes).toBeGreaterThan(big.length);

    let seen = 0;
    for await (const _chunk of exportFilesystem(image)) {
      seen++;
      if (seen === 1) break; // returns: the flatten behind it is stopped and awaited
    }
    expect(seen).toBe(1);
  });

  it('fails before the first byte for an unsafe layer, and refuses an index', async () => {
    const image = await imageOf([[file('ok', 'fine'), file('../escape', 'bad')]]);
    const chunks: Uint8Array[] = [];
    const failure = await (async () => {
      for await (const chunk of exportFilesystem(image)) chunks.push(chunk);
    })().catch((error: unknown) => error);
    expect(MutateError.is(failure, 'ERR_UNSAFE_PATH')).toBe(true);
    expect((failure as MutateError).path).toBe('../escape');
    expect(chunks).toEqual([]);

    const index = await assembleIndex([await imageOf([[file('a', 'a')]])]);
    await expect(collectBytes(exportFilesystem(index as unknown as Image))).rejects.toThrow(TypeError);
  });

  it('stops with the signal', async () => {
    const image = await imageOf([[file('a', 'a')]]);
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    await expect(collectBytes(exportFilesystem(image, { signal: controller.signal }))).rejects.toThrow(
      'stopped',
    );
    const later = new AbortController();
    const stream = exportFilesystem(await imageOf([[file('big', new Uint8Array(2 * 1024 * 1024))]]), {
      signal: later.signal,
    });
    const first = await stream.next();
    expect(first.done).toBe(false);
    later.abort(new Error('stopped later'));
    await expect(collectBytes(stream)).rejects.toThrow('stopped later');
  });
});
