// `copy` to and from a registry: push (oci → docker://), pull (docker:// → oci), docker:// →
// docker-archive, and the re-push of an image the repository already holds, on the images
// of bench/copy.ts (single: ~1.2 GB in one gzip layer; five: the same files in 5 layers;
// small: ~10 MiB), next to `skopeo copy` in the same run, against the same distribution
// registry (Debian's docker-registry 2.8 on a free loopback port, plain HTTP, started as
// the interop tests start it).
// Each of our measurements runs in its own process (copy-once.ts, from the packed
// packages), so its peak RSS is its own; both sides are timed as whole processes (start-up
// included), after `sync` and with the blobs they read in the page cache (the layout's for
// a push, the registry's for a pull), once the machine is idle (waiting up to two minutes:
// on two cores anything else running is timed with us), rounds alternating between the
// two sides. A push goes to a registry started for it on empty storage and stopped
// afterwards, so it uploads every blob: on one long-lived registry skopeo would mount the
// blobs from a repository its blob-info cache saw them in instead of uploading them. Pulls
// read from, and re-pushes write to, one registry that holds every image; each pull
// writes to a fresh destination that is deleted afterwards.
// Run: pnpm bench:registry   (ROUNDS=1; IMAGES=single,five,small;
//   OPERATIONS=push,pull,docker-archive,repush; SOURCES=1 to run the workspace sources)
// The images are those of bench/copy.ts (bench/.data/copy/layout); when they are missing,
// bench/copy.ts builds them (and measures its oci → dir copies while at it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../internal/interop/src/registry.ts';
import {
  best,
  flatnessLine,
  MiB,
  type Sample as ProcessSample,
  RSS_TARGET_MIB,
  rssCell,
  selected,
  type Timed,
  targetCell,
  timed,
  version,
} from './measure.ts';
import { packedScript } from './packed.ts';
import { machineSeconds, processCpuSeconds, waitForQuietMachine } from './proc.ts';
import { BENCH_DATA } from './tree.ts';

const here = new URL('.', import.meta.url).pathname;
const layout = join(BENCH_DATA, 'copy', 'layout');
const work = join(BENCH_DATA, 'registry');
const output = join(work, 'out');
const stats = join(work, 'time.txt');
const rounds = Number(process.env.ROUNDS ?? 1);

const IMAGES = ['single', 'five', 'small'] as const;
type ImageName = (typeof IMAGES)[number];
const OPERATIONS = ['push', 'pull', 'docker-archive', 'repush'] as const;
type Operation = (typeof OPERATIONS)[number];
const LABELS: Record<Operation, string> = {
  push: 'oci → registry',
  pull: 'registry → oci',
  'docker-archive': 'registry → docker-archive',
  repush: 'oci → registry, unchanged',
};
// The targets: time against skopeo on the large images; peak RSS for every copy.
const TIME_TARGETS: Record<Operation, number> = {
  push: 0.75,
  pull: 0.5,
  'docker-archive': 0.35,
  repush: 1.0,
};

const images = selected('IMAGES', IMAGES);
const operations = selected('OPERATIONS', OPERATIONS);

interface ImageFacts {
  readonly layers: number;
  readonly blobBytes: number;
  readonly tarBytes: number;
}

/** The images of bench/copy.ts, built by it when missing. */
function prepareImages(): Record<string, ImageFacts> {
  const factsFile = join(BENCH_DATA, 'copy', 'images.json');
  const read = () =>
    existsSync(factsFile) ? (JSON.parse(readFileSync(factsFile, 'utf8')) as Record<string, ImageFacts>) : {};
  const missing = images.filter((name) => read()[name] === undefined);
  if (missing.length > 0) {
    console.log(`building ${missing.join(', ')} with bench/copy.ts`);
    execFileSync(process.execPath, [join(here, 'copy.ts')], {
      stdio: 'inherit',
      env: { ...process.env, IMAGES: missing.join(','), OPERATIONS: 'dir', ROUNDS: '1', SOURCES: '1' },
    });
  }
  return read();
}

/** The manifest digest the layout's index.json gives a tag. */
function layoutDigest(tag: string): string {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const entry = index.manifests.find(
    (manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  if (entry === undefined) throw new Error(`${layout} has no tag ${tag}`);
  return entry.digest;
}

/** A registry of ours: where it stores, and the CPU its process has used so far. */
interface BenchRegistry {
  readonly host: string;
  readonly storage: string;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * Starts distribution as the interop tests do (startRegistry), with its storage under
 * bench/.data/registry rather than the system's temporary directory, so that the run knows
 * where its blobs are (to put them in the page cache) and its process (to read its CPU time).
 */
async function startBenchRegistry(): Promise<BenchRegistry> {
  const parent = join(work, 'tmp');
  mkdirSync(parent, { recursive: true });
  const before = new Set(readdirSync(parent));
  const tmpdir = process.env.TMPDIR;
  // startRegistry takes its directory from os.tmpdir() before its first await.
  process.env.TMPDIR = parent;
  const starting = startRegistry();
  if (tmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = tmpdir;
  const running = await starting;
  const created = readdirSync(parent).find((name) => !before.has(name));
  if (created === undefined)
    throw new Error(`the registry on ${running.host} stores nothing under ${parent}`);
  const config = join(parent, created, 'config.yml');
  const pid = readdirSync('/proc').find((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(config);
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error(`no process serves ${config}`);
  return {
    host: running.host,
    storage: join(parent, created, 'data'),
    cpuSeconds: () => processCpuSeconds(Number(pid)),
    stop: running.stop,
  };
}

/** A timed copy, with the CPU others spent meanwhile. */
interface Sample extends ProcessSample {
  /** The CPU the registry spent serving it. */
  readonly registryCpuSeconds: number;
  /** The CPU the rest of the machine spent meanwhile (other processes, the kernel's writeback). */
  readonly otherCpuSeconds: number;
}

/** Nothing waiting to be written back, the blobs to be read in the page cache, a fresh output. */
function freshStart(blobs: string): void {
  rmSync(output, { recursive: true, force: true });
  execFileSync('sync');
  execFileSync('sh', ['-c', `find "${blobs}" -type f -exec cat {} + > /dev/null`]);
  mkdirSync(output, { recursive: true });
}

type Side = 'ours' | 'skopeo';

/** One copy by one side: source and destination endpoints, as both sides spell them. */
function copyOnce(side: Side, source: string, destination: string): Timed {
  if (side === 'ours') {
    const { stdout, ...sample } = timed(process.execPath, [onceScript, 'copy', source, destination], stats);
    const report = JSON.parse(stdout) as { seconds: number };
    return { ...sample, stdout, innerSeconds: report.seconds };
  }
  // Plain HTTP on loopback: skopeo must be told; our client knows loopback is plain HTTP.
  const tls = [
    ...(source.startsWith('docker://') ? ['--src-tls-verify=false'] : []),
    ...(destination.startsWith('docker://') ? ['--dest-tls-verify=false'] : []),
  ];
  return timed('skopeo', ['copy', '--quiet', '--insecure-policy', ...tls, source, destination], stats);
}

let main: BenchRegistry;

/**
 * One copy: after a fresh start, on a quiet machine; with the CPU the registry and the
 * rest of the machine spent meanwhile.
 */
async function sample(registry: BenchRegistry, blobs: string, run: () => Timed): Promise<Sample> {
  freshStart(blobs);
  await waitForQuietMachine();
  const registryBefore = registry.cpuSeconds();
  const machineBefore = machineSeconds().busy;
  const { stdout: _, ...measured } = run();
  const registryCpuSeconds = registry.cpuSeconds() - registryBefore;
  const machineCpuSeconds = machineSeconds().busy - machineBefore;
  rmSync(output, { recursive: true, force: true });
  return {
    ...measured,
    registryCpuSeconds,
    otherCpuSeconds: Math.max(0, machineCpuSeconds - measured.cpuSeconds - registryCpuSeconds),
  };
}

async function measure(side: Side, operation: Operation, image: ImageName): Promise<Sample> {
  const repository = `bench/${image}:latest`;
  const fromLayout = `oci:${layout}:${image}`;
  const layoutBlobs = join(layout, 'blobs');
  switch (operation) {
    case 'push': {
      // Empty storage: every blob is uploaded.
      const registry = await startBenchRegistry();
      try {
        const to = `docker://${registry.host}/${repository}`;
        return await sample(registry, layoutBlobs, () => copyOnce(side, fromLayout, to));
      } finally {
        await registry.stop();
      }
    }
    case 'repush': {
      const to = `docker://${main.host}/${repository}`;
      return sample(main, layoutBlobs, () => copyOnce(side, fromLayout, to));
    }
    case 'pull':
    case 'docker-archive': {
      const destination =
        operation === 'pull'
          ? `oci:${join(output, 'layout')}:${image}`
          : `docker-archive:${join(output, 'image.tar')}:stevedore-bench:${image}`;
      const from = `docker://${main.host}/${repository}`;
      return sample(main, main.storage, () => copyOnce(side, from, destination));
    }
  }
}

interface Row {
  readonly operation: Operation;
  readonly image: ImageName;
  readonly ours: Sample;
  readonly peer: Sample;
}

mkdirSync(work, { recursive: true });
const facts = prepareImages();
// Ours runs from the packed packages, as a user's program would (SOURCES=1: from the sources).
const onceScript = process.env.SOURCES
  ? join(here, 'copy-once.ts')
  : packedScript(join(here, 'copy-once.ts'));
const describe = (name: ImageName) => {
  const fact = facts[name];
  return fact === undefined
    ? name
    : `${name}: ${fact.layers} layer(s), ${(fact.tarBytes / MiB).toFixed(0)} MiB of tar, ${(fact.blobBytes / MiB).toFixed(0)} MiB gzip`;
};
for (const name of images) console.log(describe(name));

main = await startBenchRegistry();
const rows: Row[] = [];
try {
  // The images pulls read and re-pushes write again, pushed once by skopeo; the same
  // manifests as in the layout (a copy preserves digests).
  for (const image of images) {
    copyOnce('skopeo', `oci:${layout}:${image}`, `docker://${main.host}/bench/${image}:latest`);
    const answer = await fetch(`http://${main.host}/v2/bench/${image}/manifests/latest`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const digest = `sha256:${createHash('sha256')
      .update(new Uint8Array(await answer.arrayBuffer()))
      .digest('hex')}`;
    if (digest !== layoutDigest(image))
      throw new Error(`bench/${image} holds ${digest} in the registry, ${layoutDigest(image)} in the layout`);
  }
  const loadAtStart = loadavg()[0] ?? 0;
  for (const image of images) {
    for (const operation of operations) {
      // Rounds alternate between the two sides, so that whatever else the machine does
      // falls on both alike.
      const theirSamples: Sample[] = [];
      const mySamples: Sample[] = [];
      for (let round = 0; round < rounds; round++) {
        theirSamples.push(await measure('skopeo', operation, image));
        mySamples.push(await measure('ours', operation, image));
      }
      const theirs = best(theirSamples);
      const mine = best(mySamples);
      rows.push({ operation, image, ours: mine, peer: theirs });
      console.log(
        `${operation} ${image}: ours ${mine.seconds.toFixed(2)} s (${mine.innerSeconds?.toFixed(2)} s in process, ${mine.cpuSeconds.toFixed(1)} s CPU, ${mine.peakRssMiB} MiB; registry ${mine.registryCpuSeconds.toFixed(1)} s CPU, others ${mine.otherCpuSeconds.toFixed(1)} s), ` +
          `skopeo ${theirs.seconds.toFixed(2)} s (${theirs.cpuSeconds.toFixed(1)} s CPU, ${theirs.peakRssMiB} MiB; registry ${theirs.registryCpuSeconds.toFixed(1)} s CPU, others ${theirs.otherCpuSeconds.toFixed(1)} s)`,
      );
    }
  }

  console.log(
    `\nbest of ${rounds}; node ${process.version}, ${version('skopeo', ['--version'])}, ${version('docker-registry', ['--version'])}, ${availableParallelism()} cores; load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
  );
  for (const name of images) console.log(`- ${describe(name)}`);
  console.log(
    '\n| operation | image | ours s | skopeo s | × skopeo | target | our peak RSS MiB | skopeo peak RSS MiB | ours in process s | ours CPU s | skopeo CPU s | registry CPU s, ours / skopeo |',
  );
  console.log('|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const ratio = row.ours.seconds / row.peer.seconds;
    const limit = row.image === 'small' ? undefined : TIME_TARGETS[row.operation];
    const target = targetCell(ratio, limit);
    const rss = rssCell(row.ours.peakRssMiB);
    console.log(
      `| ${LABELS[row.operation]} | ${row.image} | ${row.ours.seconds.toFixed(2)} | ${row.peer.seconds.toFixed(2)} | ${ratio.toFixed(2)} | ${target} | ${rss} | ${row.peer.peakRssMiB} | ${row.ours.innerSeconds?.toFixed(2) ?? ''} | ${row.ours.cpuSeconds.toFixed(1)} | ${row.peer.cpuSeconds.toFixed(1)} | ${row.ours.registryCpuSeconds.toFixed(1)} / ${row.peer.registryCpuSeconds.toFixed(1)} |`,
    );
  }
  const others = Math.max(...rows.flatMap((row) => [row.ours.otherCpuSeconds, row.peer.otherCpuSeconds]));
  console.log(
    `Times are whole processes (ours includes Node's start-up; "in process" leaves it out); peak RSS in bold is over 150 MB (${RSS_TARGET_MIB.toFixed(0)} MiB); the registry's CPU is that of the docker-registry process during the copy; the rest of the machine (other processes, the kernel) spent at most ${others.toFixed(1)} s of CPU during a run kept here.`,
  );
  const flat = flatnessLine(rows, operations, images);
  if (flat !== undefined) console.log(flat);
} finally {
  await main.stop();
  rmSync(join(work, 'time.txt'), { force: true });
  rmSync(output, { recursive: true, force: true });
}
