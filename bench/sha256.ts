// sha256 throughput: the node:crypto branch and the hash-wasm branch of @stevedore/digest
// over 1 GiB in 1 MiB chunks, next to `openssl dgst -sha256` and `sha256sum` in the same run.
// Run: pnpm bench:sha256   (SIZE_MIB=1024 ROUNDS=3 by default)
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { openHash as openPortableHash } from '../packages/digest/src/hash-backend-portable.ts';
import { computeDigest } from '../packages/digest/src/index.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.SIZE_MIB ?? 1024);
const rounds = Number(process.env.ROUNDS ?? 3);
const dataDir = new URL('./.data/', import.meta.url).pathname;
const file = join(dataDir, `random-${sizeMiB}MiB.bin`);

// 1 MiB of random bytes; the data is that block repeated, each copy with its index
// stamped in, so that no two chunks are equal.
const block = new Uint8Array(MiB);
for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
const chunkAt = (index: number) => {
  new DataView(block.buffer).setUint32(0, index);
  return block;
};

async function prepareFile(): Promise<void> {
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return;
  await mkdir(dataDir, { recursive: true });
  const handle = await open(file, 'w');
  for (let i = 0; i < sizeMiB; i++) await handle.write(chunkAt(i));
  await handle.close();
}

async function best(run: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    await run();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return fastest;
}

function tool(command: string, args: string[]): (() => void) | undefined {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
  } catch {
    if (command !== 'openssl') return undefined;
  }
  return () => execFileSync(command, [...args, file], { stdio: ['ignore', 'ignore', 'inherit'] });
}

await prepareFile();
execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache

const rows: Array<[string, number]> = [];
const measure = async (name: string, run: (() => Promise<unknown> | unknown) | undefined) => {
  if (run === undefined) return console.log(`${name}: not installed, skipped`);
  const seconds = await best(run);
  rows.push([name, seconds]);
  console.log(`${name}: ${((sizeMiB / seconds) | 0).toLocaleString()} MiB/s`);
};

await measure('openssl dgst -sha256 (file)', tool('openssl', ['dgst', '-sha256']));
await measure('sha256sum (file)', tool('sha256sum', []));
await measure('@stevedore/digest node branch (file, 1 MiB reads)', () =>
  computeDigest(createReadStream(file, { highWaterMark: MiB })),
);
await measure('@stevedore/digest node branch (memory, 1 MiB chunks)', () =>
  computeDigest(
    (async function* () {
      for (let i = 0; i < sizeMiB; i++) yield chunkAt(i);
    })(),
  ),
);
await measure('hash-wasm portable branch (memory, 1 MiB chunks)', async () => {
  const hash = await openPortableHash('sha256');
  for (let i = 0; i < sizeMiB; i++) hash.update(chunkAt(i));
  return hash.digestHex();
});

const reference = rows.find(([name]) => name.startsWith('openssl'))?.[1];
console.log(
  `\n${sizeMiB} MiB, best of ${rounds}; node ${process.version}; peak RSS ${(process.resourceUsage().maxRSS / 1024) | 0} MiB\n`,
);
console.log('| implementation | MiB/s | × openssl |');
console.log('|---|---:|---:|');
for (const [name, seconds] of rows) {
  const ratio = reference === undefined ? 'n/a' : (reference / seconds).toFixed(2);
  console.log(`| ${name} | ${((sizeMiB / seconds) | 0).toLocaleString('en-US')} | ${ratio} |`);
}
