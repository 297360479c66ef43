// One set of known-answer vectors, run against both runtime branches of `#hash-backend`.
// Expected values come from coreutils' sha256sum and sha512sum, not from either backend.
import { describe, expect, it } from 'vitest';
import * as selected from '#hash-backend';
import type { ComputableAlgorithm } from './digest.ts';
import type { OpenHash } from './hash-backend.ts';
import { openHash as openNodeHash } from './hash-backend-node.ts';
import { openHash as openPortableHash } from './hash-backend-portable.ts';

const MiB = 1 << 20;
const GiB = 1 << 30;

// The test pattern: byte i is i % 251 (a prime, so no chunk size lines up with it).
const patternSource = Uint8Array.from({ length: MiB + 251 }, (_, i) => i % 251);
function patternChunk(offset: number, length: number): Uint8Array {
  const start = offset % 251;
  return patternSource.subarray(start, start + length);
}
function* patternChunks(total: number, chunkSize = MiB): Generator<Uint8Array> {
  for (let offset = 0; offset < total; offset += chunkSize) {
    yield patternChunk(offset, Math.min(chunkSize, total - offset));
  }
}

interface Vector {
  readonly name: string;
  readonly chunks: () => Iterable<Uint8Array>;
  readonly sha256: string;
  readonly sha512?: string;
}

const text = (value: string) => () => [new TextEncoder().encode(value)];
const pattern = (total: number) => () => patternChunks(total);

const vectors: Vector[] = [
  {
    name: 'empty input',
    chunks: () => [],
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    sha512:
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  },
  {
    name: 'a zero-length chunk',
    chunks: () => [new Uint8Array(0)],
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  {
    name: '"abc"',
    chunks: text('abc'),
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    sha512:
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  },
  {
    name: '1 MiB - 1 byte',
    chunks: pattern(MiB - 1),
    sha256: '8b55c6a2d3444092a316985030e00c1e6f8608eaf912c896dee7c374d440ed11',
    sha512:
      '362abfe7cb6feab7498dbdfe73635cb3e12bcf3055874f3a86497394eb877d9e8d2eb150aea3e182a41e23adae3a6f08d3f7df17875aaa9bd7c71e98e7a28020',
  },
  {
    name: '1 MiB',
    chunks: pattern(MiB),
    sha256: '631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769',
    sha512:
      '67dad569eefc986a3b2424f5516d5a0284bb53d7b52d75f5ed881a6830a95765ccc82bc48752fb693422579f11dc9a400561ec1885af9eeef703dbbd312d4fd0',
  },
  {
    name: '1 MiB + 1 byte, in 4 KiB chunks',
    chunks: () => patternChunks(MiB + 1, 4096),
    sha256: '5769f52bc3eef28afa39c6fc68cadb7d0bd69812ae3a3d71452f519ec3c7aa56',
    sha512:
      '5e354eab69ae16c75df3a8a5d2a4c725e331c5163b2b96156df815b10495cf74b0ce8c2e38811d3afa6abaf13d122df1b07920ec402b0921f016376d9132e0ef',
  },
  {
    name: '1 GiB in 1 MiB chunks',
    chunks: pattern(GiB),
    sha256: '9cc5601236c455c6af19a76e64d2d95953a93b10eeb8b8b756a57090e1499b3e',
  },
];

async function hashChunks(
  open: OpenHash,
  algorithm: ComputableAlgorithm,
  chunks: Iterable<Uint8Array>,
): Promise<string> {
  const state = await open(algorithm);
  for (const chunk of chunks) state.update(chunk);
  return state.digestHex();
}

const backends: ReadonlyArray<readonly [string, OpenHash]> = [
  ['node:crypto', openNodeHash],
  ['hash-wasm', openPortableHash],
];

describe.each(backends)('%s backend', (_name, open) => {
  for (const vector of vectors) {
    it(`sha256 of ${vector.name}`, { timeout: 60_000 }, async () => {
      expect(await hashChunks(open, 'sha256', vector.chunks())).toBe(vector.sha256);
    });
    const { sha512 } = vector;
    if (sha512 !== undefined) {
      it(`sha512 of ${vector.name}`, async () => {
        expect(await hashChunks(open, 'sha512', vector.chunks())).toBe(sha512);
      });
    }
  }

  it('gives the same digest for a small input split at every byte', async () => {
    const input = new TextEncoder().encode(
      'The quick brown fox jumps over the lazy dog, then a 64-byte block boundary, then more!',
    );
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const whole = await hashChunks(open, algorithm, [input]);
      for (let split = 0; split <= input.length; split++) {
        const parts = [input.subarray(0, split), input.subarray(split)];
        expect(await hashChunks(open, algorithm, parts)).toBe(whole);
      }
      const bytewise = Array.from(input, (byte) => Uint8Array.of(byte));
      expect(await hashChunks(open, algorithm, bytewise)).toBe(whole);
    }
  });

  it('keeps concurrent computations apart', async () => {
    const [a, b] = await Promise.all([open('sha256'), open('sha256')]);
    a.update(new TextEncoder().encode('a'));
    b.update(new TextEncoder().encode('abc'));
    a.update(new TextEncoder().encode('bc'));
    expect(a.digestHex()).toBe(vectors[2]?.sha256);
    expect(b.digestHex()).toBe(vectors[2]?.sha256);
  });
});

it('Node resolves #hash-backend to the node:crypto branch', () => {
  expect(selected.openHash).toBe(openNodeHash);
});
