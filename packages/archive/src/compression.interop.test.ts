// Interop with the real tools, for both runtime branches: gzip(1), pigz and zstd(1)
// decode what we write, and we decode what they write. A missing tool fails the test in
// CI (CI=true) and skips it elsewhere, naming the Debian package to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { collectBytes } from '@stevedore/digest';
import { describe, expect, it, type TestContext } from 'vitest';
import { compressWith, decompressWith } from './compression.ts';
import type { CompressionBackend } from './compression-backend.ts';
import { compressionBackend as nodeBackend } from './compression-backend-node.ts';
import { compressionBackend as portableBackend } from './compression-backend-portable.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

// Debian package of each tool.
const packages = { gzip: 'gzip', pigz: 'pigz', zstd: 'zstd' } as const;
type Tool = keyof typeof packages;

function requireTool(context: TestContext, tool: Tool): void {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0) return;
  const message = `${tool} is not on the PATH: install the Debian package ${packages[tool]} (apt-get install ${packages[tool]})`;
  if (process.env.CI) throw new Error(message);
  context.skip(message);
}

function run(tool: Tool, args: readonly string[], input: Uint8Array): Uint8Array {
  return execFileSync(tool, args, { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
}

// Text with noisy stretches, over several gzip blocks and two zstd frames.
function layerLike(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const encoder = new TextEncoder();
  let x = 12345;
  let offset = 0;
  for (let line = 0; offset < length; line++) {
    if (line % 500 === 499) {
      for (let i = 0; i < 20 * KiB && offset < length; i++, offset++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[offset] = x & 0xff;
      }
      continue;
    }
    const encoded = encoder.encode(`drwxr-xr-x root/root 0 usr/share/doc/package-${line % 313}/copyright\n`);
    bytes.set(encoded.subarray(0, length - offset), offset);
    offset += encoded.length;
  }
  return bytes;
}

async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

function same(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
}

const input = layerLike(5 * MiB + 12345);
const backends: ReadonlyArray<readonly [string, CompressionBackend]> = [
  ['node:zlib', nodeBackend],
  ['portable', portableBackend],
];

describe.each(backends)('%s backend', (_name, backend) => {
  it('writes gzip that gzip -d and pigz -d decode', { timeout: 60_000 }, async (context) => {
    requireTool(context, 'gzip');
    requireTool(context, 'pigz');
    const compressed = await collectBytes(compressWith(backend, inChunks(input, 100_000), 'gzip'));
    expect(same(run('gzip', ['-d', '-c'], compressed), input)).toBe(true);
    expect(same(run('pigz', ['-d', '-c'], compressed), input)).toBe(true);
    // gzip -t checks the CRC and length, and warns (exit 2) about anything odd.
    run('gzip', ['-t'], compressed);
    const empty = await collectBytes(compressWith(backend, new Uint8Array(0), 'gzip'));
    expect(run('gzip', ['-d', '-c'], empty).length).toBe(0);
  });

  it('writes zstd that zstd -d decodes', { timeout: 60_000 }, async (context) => {
    requireTool(context, 'zstd');
    const compressed = await collectBytes(compressWith(backend, inChunks(input, 100_000), 'zstd'));
    expect(same(run('zstd', ['-d', '-c'], compressed), input)).toBe(true);
    const empty = await collectBytes(compressWith(backend, new Uint8Array(0), 'zstd'));
    expect(run('zstd', ['-d', '-c'], empty).length).toBe(0);
  });

  it('reads gzip -6, pigz and concatenated members', { timeout: 60_000 }, async (context) => {
    requireTool(context, 'gzip');
    requireTool(context, 'pigz');
    const half = input.length >> 1;
    const gzipped = run('gzip', ['-6', '-c'], input);
    const pigzed = run('pigz', ['-6', '-p', '2', '-c'], input);
    const members = Buffer.concat([
      run('gzip', ['-c'], input.subarray(0, half)),
      run('pigz', ['-c'], input.subarray(half)),
    ]);
    for (const compressed of [gzipped, pigzed, members]) {
      expect(
        same(await collectBytes(decompressWith(backend, inChunks(compressed, 65_537), 'gzip')), input),
      ).toBe(true);
      expect(same(await collectBytes(decompressWith(backend, compressed, 'auto')), input)).toBe(true);
    }
  });

  it('reads zstd -3 -T2, frames of unknown size and concatenated frames', {
    timeout: 60_000,
  }, async (context) => {
    requireTool(context, 'zstd');
    const half = input.length >> 1;
    const threaded = run('zstd', ['-3', '-T2', '-c'], input);
    // From a pipe zstd cannot know the size: the frame does not record it.
    const unknownSize = run('zstd', ['-3', '-c', '--no-content-size'], input);
    const frames = Buffer.concat([
      run('zstd', ['-1', '-c'], input.subarray(0, half)),
      run('zstd', ['-19', '-c', '--no-check'], input.subarray(half)),
    ]);
    for (const compressed of [threaded, unknownSize, frames]) {
      expect(
        same(await collectBytes(decompressWith(backend, inChunks(compressed, 65_537), 'zstd')), input),
      ).toBe(true);
      expect(same(await collectBytes(decompressWith(backend, compressed, 'auto')), input)).toBe(true);
    }
  });
});
