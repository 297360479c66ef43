// buildFromDir of a real tree (~1 GB) into an OCI layout, next to `tar -c | pigz -6`,
// `tar -c | gzip -6` and `tar -c | zstd -3 -T2` in the same run, with peak RSS.
// Run: pnpm bench:build   (TREE=/path to use another tree; ROUNDS=1 by default; COMPRESSIONS=zstd)
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packedScript } from './packed.ts';
import { BENCH_DATA, prepareTree } from './tree.ts';

const here = new URL('.', import.meta.url).pathname;
const data = BENCH_DATA;
const rounds = Number(process.env.ROUNDS ?? 1);

function treeBytes(tree: string): number {
  return Number(execFileSync('du', ['-sb', '--apparent-size', tree], { encoding: 'utf8' }).split('\t')[0]);
}

interface Result {
  readonly name: string;
  readonly seconds: number;
  readonly outputBytes: number;
  readonly peakRssMiB?: number;
}

function best(run: () => Result): Result {
  let fastest: Result | undefined;
  for (let round = 0; round < rounds; round++) {
    const result = run();
    if (fastest === undefined || result.seconds < fastest.seconds) fastest = result;
  }
  return fastest as Result;
}

function shell(name: string, pipeline: string, output: string): Result {
  rmSync(output, { force: true });
  const start = process.hrtime.bigint();
  execFileSync('bash', ['-o', 'pipefail', '-c', pipeline], { stdio: ['ignore', 'ignore', 'inherit'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, seconds, outputBytes: statSync(output).size };
}

function ours(compression: string, tree: string): Result {
  const layout = join(data, `layout-${compression}`);
  rmSync(layout, { recursive: true, force: true });
  const child = spawnSync(process.execPath, [onceScript, tree, layout, compression], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`build-once failed: ${child.stdout}`);
  const report = JSON.parse(child.stdout) as { seconds: number; layerBytes: number; peakRssMiB: number };
  rmSync(layout, { recursive: true, force: true });
  return {
    name: `stevedore buildFromDir → oci layout (${compression})`,
    seconds: report.seconds,
    outputBytes: report.layerBytes,
    peakRssMiB: report.peakRssMiB,
  };
}

// Ours runs from the packed packages, as a user's program would (SOURCES=1: from the sources).
const onceScript = process.env.SOURCES
  ? join(here, 'build-once.ts')
  : packedScript(join(here, 'build-once.ts'));
const tree = prepareTree();
const bytes = treeBytes(tree);
const files = Number(execFileSync('sh', ['-c', `find ${tree} -type f | wc -l`], { encoding: 'utf8' }));
execFileSync('sh', ['-c', `tar -cf - -C ${tree} . > /dev/null`]); // warm the page cache
console.log(
  `tree ${tree}: ${(bytes / 2 ** 20) | 0} MiB in ${files} files; ${readdirSync(tree).length} top-level entries`,
);

const out = (name: string) => join(data, name);
const tarInto = (filter: string, file: string) =>
  `tar -cf - -C ${tree} . ${filter === '' ? '' : `| ${filter} `}> ${out(file)}`;
// The peers of each compression: the first is the one ours is measured against.
const peers: Record<string, ReadonlyArray<readonly [name: string, filter: string, file: string]>> = {
  gzip: [
    ['tar -c | pigz -6', 'pigz -6', 'tree.tar.gz'],
    ['tar -c | gzip -6', 'gzip -6', 'tree.tar.gz'],
  ],
  zstd: [['tar -c | zstd -3 -T2', 'zstd -q -3 -T2', 'tree.tar.zst']],
  none: [['tar -c (no compression)', '', 'tree.tar']],
};
// COMPRESSIONS=zstd (or a comma-separated list) measures only those, with their peers.
const compressions = (process.env.COMPRESSIONS ?? 'gzip,zstd,none').split(',');
const results: Result[] = [];
for (const compression of compressions) {
  const [first, ...others] = peers[compression] ?? [];
  if (first === undefined) throw new Error(`unknown compression ${compression}`);
  results.push(best(() => shell(first[0], tarInto(first[1], first[2]), out(first[2]))));
  results.push(best(() => ours(compression, tree)));
  for (const [name, filter, file] of others)
    results.push(best(() => shell(name, tarInto(filter, file), out(file))));
}
for (const name of ['tree.tar.gz', 'tree.tar.zst', 'tree.tar']) rmSync(out(name), { force: true });

const seconds = (name: string) => results.find((result) => result.name === name)?.seconds ?? Number.NaN;
const reference = Object.fromEntries(
  Object.entries(peers).map(([compression, [first]]) => [compression, seconds(first?.[0] ?? '')]),
);
console.log(`\n${(bytes / 2 ** 20) | 0} MiB tree, best of ${rounds}; node ${process.version}\n`);
console.log('| command | MiB/s (tree) | output MiB | × peer | peak RSS MiB |');
console.log('|---|---:|---:|---:|---:|');
for (const result of results) {
  const compression = /\((gzip|zstd|none)\)$/.exec(result.name)?.[1];
  const ratio =
    compression === undefined ? '' : ((reference[compression] ?? Number.NaN) / result.seconds).toFixed(2);
  console.log(
    `| ${result.name.replaceAll('|', '\\|')} | ${((bytes / 2 ** 20 / result.seconds) | 0).toLocaleString('en-US')} | ${(result.outputBytes / 2 ** 20).toFixed(0)} | ${ratio} | ${result.peakRssMiB ?? ''} |`,
  );
}
