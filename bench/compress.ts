// Compression throughput of @stevedore/archive next to pigz, gzip and zstd in the same
// run, over a realistic input: the uncompressed tar of /usr/lib, cut to SIZE_MIB.
// Each of our measurements runs in a fresh process, so its peak RSS is its own.
// Run: node bench/compress.ts   (SIZE_MIB=1024 ROUNDS=1 PORTABLE_MIB=128 by default)
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, truncate } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  type Compression,
  compress,
  compressWith,
  decompress,
  decompressWith,
} from '../packages/archive/src/compression.ts';
import { compressionBackend as portableBackend } from '../packages/archive/src/compression-backend-portable.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.SIZE_MIB ?? 1024);
const rounds = Number(process.env.ROUNDS ?? 1);
const portableMiB = Math.min(sizeMiB, Number(process.env.PORTABLE_MIB ?? 128));
const dataDir = fileURLToPath(new URL('./.data/', import.meta.url));
const input = join(dataDir, `usr-lib-${sizeMiB}MiB.tar`);
const portableInput = join(dataDir, `usr-lib-${portableMiB}MiB.tar`);
const output = (name: string) => join(dataDir, `out-${name}`);

interface Result {
  readonly seconds: number;
  readonly size: number;
  readonly rss?: number;
}

// Child mode: one measurement of our code, printed as JSON.
if (process.argv[2] === 'measure') {
  const [, , , task = '', file = ''] = process.argv;
  const [direction, codec, backend] = task.split('-') as ['compress' | 'decompress', Compression, string];
  const portable = backend === 'portable';
  const source = createReadStream(file, { highWaterMark: MiB });
  const start = process.hrtime.bigint();
  let size = 0;
  if (direction === 'compress') {
    const stream = portable ? compressWith(portableBackend, source, codec) : compress(source, codec);
    const sink = createWriteStream(output(`ours-${backend}.${codec}`));
    await pipeline(Readable.from(stream), sink);
    size = statSync(output(`ours-${backend}.${codec}`)).size;
  } else {
    const stream = portable ? decompressWith(portableBackend, source, codec) : decompress(source, codec);
    for await (const chunk of stream) size += chunk.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ seconds, size, rss: process.resourceUsage().maxRSS * 1024 }));
  process.exit(0);
}

async function prepare(file: string, mib: number): Promise<void> {
  if (existsSync(file) && statSync(file).size === mib * MiB) return;
  await mkdir(dataDir, { recursive: true });
  console.log(`building ${file}: tar of /usr/lib, cut to ${mib} MiB`);
  // --sort=name: the same tree gives the same bytes from run to run.
  execFileSync('sh', [
    '-c',
    'tar --sort=name -cf - -C /usr/lib . 2>/dev/null | head -c "$0" > "$1"',
    `${mib * MiB}`,
    file,
  ]);
  if (statSync(file).size < mib * MiB) console.log(`note: /usr/lib holds only ${statSync(file).size} bytes`);
  await truncate(file, Math.min(statSync(file).size, mib * MiB));
}

function ours(task: string, file: string): Result {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'measure', task, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: MiB,
  });
  if (child.status !== 0) throw new Error(`${task} failed (exit ${child.status})`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Result;
}

function tool(
  command: string,
  args: readonly string[],
  file: string,
  out: string | undefined,
): Result | undefined {
  if (spawnSync(command, ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const start = process.hrtime.bigint();
  const result = spawnSync(
    'sh',
    ['-c', `"$0" "$@" < "${file}" > "${out ?? '/dev/null'}"`, command, ...args],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  return { seconds, size: out === undefined ? 0 : statSync(out).size };
}

function best(run: () => Result | undefined): Result | undefined {
  let fastest: Result | undefined;
  for (let round = 0; round < rounds; round++) {
    const result = run();
    if (result === undefined) return undefined;
    if (fastest === undefined || result.seconds < fastest.seconds) fastest = result;
  }
  return fastest;
}

interface Row {
  readonly group: string;
  readonly name: string;
  readonly mib: number;
  readonly result: Result | undefined;
  readonly peer?: string;
  readonly compressed?: boolean;
}

await prepare(input, sizeMiB);
if (portableMiB > 0) await prepare(portableInput, portableMiB);
execFileSync('sh', ['-c', `cat "${input}" > /dev/null`]); // warm the page cache

const rows: Row[] = [];
const measure = (row: Row) => {
  rows.push(row);
  const { result } = row;
  if (result === undefined) console.log(`${row.name}: not installed, skipped`);
  else console.log(`${row.name}: ${(row.mib / result.seconds).toFixed(1)} MiB/s, ${result.size} bytes`);
};

measure({
  group: 'gzip -6',
  name: 'ours, node (parallel)',
  mib: sizeMiB,
  result: best(() => ours('compress-gzip-node', input)),
  peer: 'pigz -6 -p 2',
  compressed: true,
});
measure({
  group: 'gzip -6',
  name: 'pigz -6 -p 2',
  mib: sizeMiB,
  result: best(() => tool('pigz', ['-6', '-p', '2', '-c'], input, output('pigz.gz'))),
  compressed: true,
});
measure({
  group: 'gzip -6',
  name: 'gzip -6',
  mib: sizeMiB,
  result: best(() => tool('gzip', ['-6', '-c'], input, output('gzip.gz'))),
  peer: 'pigz -6 -p 2',
  compressed: true,
});
measure({
  group: 'zstd -3',
  name: 'ours, node (parallel)',
  mib: sizeMiB,
  result: best(() => ours('compress-zstd-node', input)),
  peer: 'zstd -3 -T2',
  compressed: true,
});
measure({
  group: 'zstd -3',
  name: 'zstd -3 -T2',
  mib: sizeMiB,
  result: best(() => tool('zstd', ['-3', '-T2', '-q', '-c'], input, output('zstd.zst'))),
  compressed: true,
});
measure({
  group: 'zstd -3',
  name: 'zstd -3 -T1',
  mib: sizeMiB,
  result: best(() => tool('zstd', ['-3', '-T1', '-q', '-c'], input, output('zstd1.zst'))),
  peer: 'zstd -3 -T2',
  compressed: true,
});
// Decoding: the same file (our output) through our decoder and the tool's.
measure({
  group: 'gunzip',
  name: 'ours, node',
  mib: sizeMiB,
  result: best(() => ours('decompress-gzip-node', output('ours-node.gzip'))),
  peer: 'pigz -d',
});
measure({
  group: 'gunzip',
  name: 'pigz -d',
  mib: sizeMiB,
  result: best(() => tool('pigz', ['-d', '-c'], output('ours-node.gzip'), undefined)),
});
measure({
  group: 'gunzip',
  name: 'gzip -d',
  mib: sizeMiB,
  result: best(() => tool('gzip', ['-d', '-c'], output('ours-node.gzip'), undefined)),
  peer: 'pigz -d',
});
measure({
  group: 'unzstd',
  name: 'ours, node',
  mib: sizeMiB,
  result: best(() => ours('decompress-zstd-node', output('ours-node.zstd'))),
  peer: 'zstd -d',
});
measure({
  group: 'unzstd',
  name: 'zstd -d',
  mib: sizeMiB,
  result: best(() => tool('zstd', ['-d', '-q', '-c'], output('ours-node.zstd'), undefined)),
});
measure({
  group: 'unzstd',
  name: 'ours, node (zstd -T2 file, one frame)',
  mib: sizeMiB,
  result: best(() => ours('decompress-zstd-node', output('zstd.zst'))),
  peer: 'zstd -d',
});
if (portableMiB > 0) {
  const note = ` (first ${portableMiB} MiB)`;
  measure({
    group: 'portable',
    name: `gzip, pako${note}`,
    mib: portableMiB,
    result: best(() => ours('compress-gzip-portable', portableInput)),
    compressed: true,
  });
  measure({
    group: 'portable',
    name: `zstd, wasm${note}`,
    mib: portableMiB,
    result: best(() => ours('compress-zstd-portable', portableInput)),
    compressed: true,
  });
  measure({
    group: 'portable',
    name: `gunzip, pako${note}`,
    mib: portableMiB,
    result: best(() => ours('decompress-gzip-portable', output('ours-portable.gzip'))),
  });
  measure({
    group: 'portable',
    name: `unzstd, wasm${note}`,
    mib: portableMiB,
    result: best(() => ours('decompress-zstd-portable', output('ours-portable.zstd'))),
  });
}

const input1 = statSync(input).size;
console.log(
  `\n${sizeMiB} MiB tar of /usr/lib, best of ${rounds}; node ${process.version}, ${availableParallelism()} cores; MiB/s of uncompressed data\n`,
);
console.log(
  '| operation | implementation | MiB/s | × peer | compressed bytes | size / input | peak RSS MiB |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const row of rows) {
  const { result } = row;
  if (result === undefined) {
    console.log(`| ${row.group} | ${row.name} | not installed | | | | |`);
    continue;
  }
  const peer = rows.find((other) => other.group === row.group && other.name === row.peer)?.result;
  const ratio = peer === undefined ? '' : `${(peer.seconds / result.seconds).toFixed(2)} × ${row.peer}`;
  const inputBytes = row.mib === sizeMiB ? input1 : row.mib * MiB;
  const size = row.compressed ? result.size.toLocaleString('en-US') : '';
  const fraction = row.compressed ? `${((100 * result.size) / inputBytes).toFixed(2)} %` : '';
  const rss = result.rss === undefined ? '' : String(Math.round(result.rss / MiB));
  console.log(
    `| ${row.group} | ${row.name} | ${(row.mib / result.seconds).toFixed(1)} | ${ratio} | ${size} | ${fraction} | ${rss} |`,
  );
}

// The compressed outputs are scratch; the inputs stay for the next run.
for (const name of await readdir(dataDir)) if (name.startsWith('out-')) await rm(join(dataDir, name));
