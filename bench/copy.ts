// `copy` from an OCI layout to dir:, oci-archive: and docker-archive:, and `flatten`, on a
// ~1.2 GB one-layer gzip image (the tree of bench/build.ts, as usr/lib/…), a 5-layer image
// of the same files and a ~10 MiB image, next to `skopeo copy` in the same run. skopeo
// has no flatten: its peer is `umoci raw unpack` then `tar -c | pigz -6`, what one would
// script without us.
// Each of our measurements runs in its own process (copy-once.ts), so its peak RSS is its
// own; both sides are timed as whole processes (start-up included), each run writes to a
// fresh destination that is deleted afterwards, after `sync` and with the source blobs in
// the page cache.
// Run: pnpm bench:copy   (ROUNDS=1; IMAGES=single,five,small;
//   OPERATIONS=dir,oci-archive,docker-archive,flatten; TREE=/path to use another tree)
// The images are built once into bench/.data/copy/layout; delete bench/.data/copy to rebuild.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { BuildOptions } from '../packages/build/src/index.ts';
import { buildFromDir, buildImage } from '../packages/build/src/index.ts';
import {
  listOciLayoutTags,
  openOciLayoutBlobSink,
  writeOciLayout,
} from '../packages/transport-oci/src/index.ts';
import {
  best,
  flatnessLine,
  MiB,
  RSS_TARGET_MIB,
  rssCell,
  type Sample,
  selected,
  targetCell,
  timed,
  version,
} from './measure.ts';
import { packedScript } from './packed.ts';
import { BENCH_DATA, prepareTree } from './tree.ts';

const here = new URL('.', import.meta.url).pathname;
const data = BENCH_DATA;
const work = join(data, 'copy');
const layout = join(work, 'layout');
const output = join(work, 'out');
const stats = join(work, 'time.txt');
const rounds = Number(process.env.ROUNDS ?? 1);

const IMAGES = {
  single: 'one layer, the whole tree',
  five: 'the same files in 5 layers',
  small: 'one layer, ~10 MiB of the tree',
} as const;
type ImageName = keyof typeof IMAGES;
const OPERATIONS = ['dir', 'oci-archive', 'docker-archive', 'flatten'] as const;
type Operation = (typeof OPERATIONS)[number];
// The issue's targets: time against skopeo on the large images; peak RSS for every copy.
const TIME_TARGETS: Partial<Record<Operation, number>> = { dir: 0.4, 'docker-archive': 0.35 };

const images = selected('IMAGES', Object.keys(IMAGES) as ImageName[]);
const operations = selected('OPERATIONS', OPERATIONS);

interface TreeFile {
  readonly path: string;
  readonly size: number;
  readonly link?: string;
}

/** The files and symlinks of a tree, by path. (readdir's `recursive` follows symlinks.) */
function listFiles(tree: string, dir = tree, files: TreeFile[] = []): TreeFile[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    const path = relative(tree, full);
    if (entry.isDirectory()) listFiles(tree, full, files);
    else if (entry.isSymbolicLink()) files.push({ path, size: 0, link: readlinkSync(full) });
    else if (entry.isFile()) files.push({ path, size: lstatSync(full).size });
  }
  return dir === tree ? files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : files;
}

/**
 * Hardlinks (symlinks: recreates) `files` of `tree` under `target/usr/lib`, afresh: where
 * they came from, so relative symlinks such as `jvm/…/docs -> ../../../share/doc/…` stay
 * inside the image's root, as they must (moby refuses to unpack one that climbs out).
 */
function linkFiles(tree: string, files: readonly TreeFile[], target: string): string {
  rmSync(target, { recursive: true, force: true });
  for (const file of files) {
    const to = join(target, 'usr', 'lib', file.path);
    mkdirSync(dirname(to), { recursive: true });
    if (file.link === undefined) linkSync(join(tree, file.path), to);
    else symlinkSync(file.link, to);
  }
  return target;
}

interface ImageFacts {
  readonly layers: number;
  readonly blobBytes: number;
  readonly tarBytes: number;
}

/** Builds the images a run needs into the layout (gzip, the default), once. */
async function prepareImages(): Promise<Record<string, ImageFacts>> {
  const factsFile = join(work, 'images.json');
  const facts = existsSync(factsFile)
    ? (JSON.parse(readFileSync(factsFile, 'utf8')) as Record<string, ImageFacts>)
    : {};
  const tags = existsSync(join(layout, 'index.json')) ? await listOciLayoutTags(layout) : [];
  const missing = images.filter((name) => !tags.includes(name) || facts[name] === undefined);
  if (missing.length === 0) return facts;
  const tree = prepareTree();
  const files = listFiles(tree);
  const blobSink = await openOciLayoutBlobSink(layout);
  for (const name of missing) {
    console.log(`building ${name} (${IMAGES[name]}) from ${tree} into ${layout}`);
    let tarBytes = 0;
    let blobBytes = 0;
    const options: BuildOptions = {
      blobSink,
      onEvent: (event) => {
        if (event.type !== 'layer') return;
        tarBytes += event.uncompressedSize;
        blobBytes += event.size;
      },
    };
    let image: Awaited<ReturnType<typeof buildImage>>;
    if (name === 'single') {
      image = await buildFromDir(linkFiles(tree, files, join(work, 'single')), {}, options);
    } else if (name === 'five') {
      // Five runs of the files in path order, of about equal bytes each.
      const total = files.reduce((sum, file) => sum + file.size, 0);
      const parts: TreeFile[][] = [[], [], [], [], []];
      let before = 0;
      for (const file of files) {
        parts[Math.min(4, Math.floor((before * 5) / total))]?.push(file);
        before += file.size;
      }
      const dirs = parts.map((part, index) =>
        linkFiles(tree, part, join(work, 'five', `layer-${index + 1}`)),
      );
      image = await buildImage(dirs, {}, options);
    } else {
      // Files of at most 1 MiB in path order, up to 10 MiB in all.
      const chosen: TreeFile[] = [];
      let bytes = 0;
      for (const file of files) {
        if (file.size > MiB || bytes + file.size > 10 * MiB) continue;
        chosen.push(file);
        bytes += file.size;
      }
      image = await buildFromDir(linkFiles(tree, chosen, join(work, 'small')), {}, options);
    }
    await writeOciLayout(layout, image, { tag: name });
    facts[name] = { layers: image.manifest.json.layers.length, blobBytes, tarBytes };
    writeFileSync(factsFile, JSON.stringify(facts, null, 2));
  }
  return facts;
}

/** A fresh destination, nothing waiting to be written back, the source in the page cache. */
function freshStart(): string {
  rmSync(output, { recursive: true, force: true });
  execFileSync('sync');
  execFileSync('sh', ['-c', `cat "${layout}"/blobs/sha256/* > /dev/null`]);
  mkdirSync(output, { recursive: true });
  return output;
}

function destination(operation: Operation, out: string): string {
  return operation === 'dir' ? join(out, 'dir') : join(out, `${operation}.tar`);
}

function ours(operation: Operation, image: ImageName): Sample {
  const out = freshStart();
  const target = operation === 'flatten' ? join(out, 'layout') : destination(operation, out);
  const { stdout, ...sample } = timed(
    process.execPath,
    [onceScript, operation, layout, image, target],
    stats,
  );
  const report = JSON.parse(stdout) as { seconds: number; peakRssMiB: number };
  rmSync(output, { recursive: true, force: true });
  return { ...sample, innerSeconds: report.seconds };
}

function peer(operation: Operation, image: ImageName): Sample {
  const out = freshStart();
  const source = `oci:${layout}:${image}`;
  const skopeo = (target: string) =>
    timed('skopeo', ['copy', '--quiet', '--insecure-policy', source, target], stats);
  let sample: Sample;
  switch (operation) {
    case 'dir':
      sample = skopeo(`dir:${destination(operation, out)}`);
      break;
    case 'oci-archive':
      sample = skopeo(`oci-archive:${destination(operation, out)}:${image}`);
      break;
    case 'docker-archive':
      sample = skopeo(`docker-archive:${destination(operation, out)}:stevedore-bench:${image}`);
      break;
    case 'flatten':
      sample = timed(
        'bash',
        [
          '-o',
          'pipefail',
          '-c',
          'umoci --log=error raw unpack --image "$0" "$1/rootfs" && tar -cf - -C "$1/rootfs" . | pigz -6 > "$1/flat.tar.gz"',
          `${layout}:${image}`,
          out,
        ],
        stats,
      );
      break;
  }
  rmSync(output, { recursive: true, force: true });
  return sample;
}

interface Row {
  readonly operation: Operation;
  readonly image: ImageName;
  readonly ours: Sample;
  readonly peer: Sample;
}

mkdirSync(work, { recursive: true });
const facts = await prepareImages();
// Ours runs from the packed packages, as a user's program would (SOURCES=1: from the sources).
const onceScript = process.env.SOURCES
  ? join(here, 'copy-once.ts')
  : packedScript(join(here, 'copy-once.ts'));
const loadAtStart = loadavg()[0] ?? 0;
const describe = (name: ImageName) => {
  const fact = facts[name];
  return fact === undefined
    ? name
    : `${name}: ${IMAGES[name]}; ${fact.layers} layer(s), ${(fact.tarBytes / MiB).toFixed(0)} MiB of tar, ${(fact.blobBytes / MiB).toFixed(0)} MiB gzip`;
};
for (const name of images) console.log(describe(name));

const rows: Row[] = [];
for (const image of images) {
  for (const operation of operations) {
    const theirs = best(Array.from({ length: rounds }, () => peer(operation, image)));
    const mine = best(Array.from({ length: rounds }, () => ours(operation, image)));
    rows.push({ operation, image, ours: mine, peer: theirs });
    console.log(
      `${operation} ${image}: ours ${mine.seconds.toFixed(2)} s (${mine.innerSeconds?.toFixed(2)} s in process, ${mine.cpuSeconds.toFixed(1)} s CPU, ${mine.peakRssMiB} MiB), ` +
        `${operation === 'flatten' ? 'umoci + pigz' : 'skopeo'} ${theirs.seconds.toFixed(2)} s (${theirs.cpuSeconds.toFixed(1)} s CPU, ${theirs.peakRssMiB} MiB)`,
    );
  }
}

console.log(
  `\nbest of ${rounds}; node ${process.version}, ${version('skopeo', ['--version'])}, ${version('umoci', ['--version'])}, ${availableParallelism()} cores; load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
);
for (const name of images) console.log(`- ${describe(name)}`);
console.log(
  '\n| operation | image | ours s | skopeo s | × skopeo | target | our peak RSS MiB | skopeo peak RSS MiB | ours in process s | ours CPU s | skopeo CPU s |',
);
console.log('|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|');
for (const row of rows) {
  const mark = row.operation === 'flatten' ? ' †' : '';
  const ratio = row.ours.seconds / row.peer.seconds;
  const limit = row.image === 'small' ? undefined : TIME_TARGETS[row.operation];
  const target = targetCell(ratio, limit);
  const rss = rssCell(row.ours.peakRssMiB);
  console.log(
    `| ${row.operation === 'flatten' ? 'flatten (oci → oci)' : `oci → ${row.operation}`} | ${row.image} | ${row.ours.seconds.toFixed(2)} | ${row.peer.seconds.toFixed(2)}${mark} | ${ratio.toFixed(2)}${mark} | ${target} | ${rss} | ${row.peer.peakRssMiB}${mark} | ${row.ours.innerSeconds?.toFixed(2) ?? ''} | ${row.ours.cpuSeconds.toFixed(1)} | ${row.peer.cpuSeconds.toFixed(1)}${mark} |`,
  );
}
if (operations.includes('flatten')) {
  console.log(
    '\n† flatten has no skopeo equivalent; its peer is `umoci raw unpack` then `tar -c | pigz -6` of the rootfs.',
  );
}
console.log(
  `Times are whole processes (ours includes Node's start-up and module loading; "in process" leaves them out); peak RSS in bold is over 150 MB (${RSS_TARGET_MIB.toFixed(0)} MiB).`,
);
const flat = flatnessLine(rows, operations, images);
if (flat !== undefined) console.log(flat);
rmSync(join(work, 'time.txt'), { force: true });
