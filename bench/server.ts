// The registry server: our `startServer` on its filesystem store next to Debian's
// `docker-registry` (distribution 2.8) in the same run, each in a process of its own on a
// free loopback port (plain HTTP, no auth), storing in a fresh temporary directory:
// - manifest GET by tag: `wrk` on /v2/bench/small/manifests/latest with a pulling client's
//   Accept header, after a two-second warm-up of each server; requests per second.
// - blob GET: `curl` of a 350 MiB blob (the first 350 MiB of the `single` image's gzip
//   layer, uploaded to both by curl, in the page cache); MB/s.
// - push: `skopeo copy` of the `single` image of bench/copy.ts (one ~500 MB gzip layer of
//   ~1.2 GB of tar) into a registry started for it on empty storage, after `sync` and with
//   the layout's blobs in the page cache; skopeo's whole process, wall time.
// Peak RSS is each server process's VmHWM (/proc/<pid>/status) at the end of an operation:
// the reads share one server of each kind, whose high-water mark is reset (clear_refs)
// before each operation; a push has a server of its own. Each measurement waits for an
// idle machine (on two cores anything else running is timed with us) and is taken again
// when the rest of the machine took over a quarter of it meanwhile; rounds alternate
// between the two sides; the best of ROUNDS counts, with the highest peak RSS.
// Run: pnpm bench:server   (ROUNDS=3; DURATION=10 wrk seconds; CONNECTIONS=32;
//   OPERATIONS=manifest,blob,push; SOURCES=1 to run the workspace sources;
//   PROFILE=1 to also profile our server (--cpu-prof) in each operation and print where it spends)
// The images are those of bench/copy.ts (bench/.data/copy/layout); when they are missing,
// bench/copy.ts builds them.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startRegistry } from '../internal/interop/src/registry.ts';
import { best, MiB, selected, targetCell, timed, version } from './measure.ts';
import { packedScript } from './packed.ts';
import {
  machineSeconds,
  peakRssMiB,
  processCpuSeconds,
  resetPeakRss,
  rssMiB,
  waitForQuietMachine,
} from './proc.ts';
import { BENCH_DATA } from './tree.ts';

const here = new URL('.', import.meta.url).pathname;
const layout = join(BENCH_DATA, 'copy', 'layout');
const work = join(BENCH_DATA, 'server');
const stats = join(work, 'time.txt');
const rounds = Number(process.env.ROUNDS ?? 3);
const duration = Number(process.env.DURATION ?? 10);
const connections = Number(process.env.CONNECTIONS ?? 32);
const BLOB_BYTES = 350 * MiB;

const OPERATIONS = ['manifest', 'blob', 'push'] as const;
type Operation = (typeof OPERATIONS)[number];
const operations = selected('OPERATIONS', OPERATIONS);
const LABELS: Record<Operation, string> = {
  manifest: `manifest GET by tag (wrk -t2 -c${connections} -d${duration}s), req/s`,
  blob: `blob GET, ${BLOB_BYTES / MiB} MiB (curl), MB/s`,
  push: 'push of single (skopeo copy), s',
};
// The issue's targets, as ours / distribution: at least these for the reads, at most for the push.
const TARGETS: Record<Operation, { readonly ratio: number; readonly higherIsBetter: boolean }> = {
  manifest: { ratio: 2, higherIsBetter: true },
  blob: { ratio: 1, higherIsBetter: true },
  push: { ratio: 0.6, higherIsBetter: false },
};
// What a pulling client (skopeo, containerd) accepts.
const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

type Side = 'ours' | 'distribution';

// ---------------------------------------------------------------------------------------
// Processes

/** A registry process of either kind, on 127.0.0.1. */
interface BenchServer {
  readonly side: Side;
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly pid: number;
  stop(): Promise<void>;
}

// What an interrupted run leaves behind, killed and deleted on the way out.
const leftoverPids = new Set<number>();
const leftoverDirs = new Set<string>();
process.once('exit', () => {
  for (const pid of leftoverPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const dir of leftoverDirs) rmSync(dir, { recursive: true, force: true });
});
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** A fresh temporary directory for a store, deleted at exit if the run does not. */
function freshStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stevedore-bench-server-'));
  leftoverDirs.add(dir);
  return dir;
}

function removeStore(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  leftoverDirs.delete(dir);
}

/** SIGTERM, then SIGKILL after ten seconds. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Our registry (internal/interop's server-main.ts, as the crash and load tests run it) serving `store` in its own Node process. */
async function startOurs(store: string, nodeFlags: readonly string[] = []): Promise<BenchServer> {
  const child = spawn(process.execPath, [...nodeFlags, serverScript, store], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.pid === undefined) throw new Error(`${process.execPath} ${serverScript} did not start`);
  const pid = child.pid;
  leftoverPids.add(pid);
  let output = '';
  child.stdout?.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`our server exited (${code}) before listening`)));
    child.stdout?.on('data', (data: string) => {
      output += data;
      const end = output.indexOf('\n');
      if (end !== -1) resolve(output.slice(0, end));
    });
  });
  const { host } = JSON.parse(line) as { host: string };
  return {
    side: 'ours',
    host,
    pid,
    async stop() {
      await stopChild(child);
      leftoverPids.delete(pid);
    },
  };
}

/** This process's children running `command` (/proc/<pid>/status: Name, PPid). */
function childrenNamed(command: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        const name = /^Name:\s+(.*)$/m.exec(status)?.[1];
        const parent = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]);
        return name === command && parent === process.pid ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

/**
 * Distribution as the interop tests start it (startRegistry: a temporary directory,
 * storage under it), with its process found among our children for its memory and CPU.
 */
async function startDistribution(): Promise<BenchServer> {
  const before = new Set(childrenNamed('docker-registry'));
  const registry = await startRegistry();
  const pid = childrenNamed('docker-registry').find((each) => !before.has(each));
  if (pid === undefined) {
    await registry.stop();
    throw new Error(`no docker-registry process of ours serves ${registry.host}`);
  }
  // docker-registry serve <dir>/config.yml
  const config = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[2];
  const dir = config === undefined ? undefined : dirname(config);
  leftoverPids.add(pid);
  if (dir !== undefined) leftoverDirs.add(dir);
  return {
    side: 'distribution',
    host: registry.host,
    pid,
    async stop() {
      await registry.stop();
      leftoverPids.delete(pid);
      if (dir !== undefined) leftoverDirs.delete(dir);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Content

/** The manifest digest the layout gives a tag, if it has the tag. */
function layoutDigest(tag: string): string | undefined {
  if (!existsSync(join(layout, 'index.json'))) return undefined;
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  return index.manifests.find(
    (manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] === tag,
  )?.digest;
}

const blobPath = (digest: string) => join(layout, 'blobs', ...digest.split(':'));

/** The images of bench/copy.ts this bench uses, built by it when missing. */
function prepareImages(): void {
  const missing = ['single', 'small'].filter((tag) => layoutDigest(tag) === undefined);
  if (missing.length === 0) return;
  console.log(`building ${missing.join(', ')} with bench/copy.ts`);
  execFileSync(process.execPath, [join(here, 'copy.ts')], {
    stdio: 'inherit',
    env: { ...process.env, IMAGES: missing.join(','), OPERATIONS: 'dir', ROUNDS: '1', SOURCES: '1' },
  });
}

interface Blob {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

/** The blob the blob GETs read: the first BLOB_BYTES of the `single` image's layer. */
async function prepareBlob(): Promise<Blob> {
  const path = join(work, 'blob.bin');
  if (!existsSync(path) || statSync(path).size !== BLOB_BYTES) {
    const manifestDigest = layoutDigest('single') ?? '';
    const manifest = JSON.parse(readFileSync(blobPath(manifestDigest), 'utf8')) as {
      layers: Array<{ digest: string; size: number }>;
    };
    const layer = manifest.layers[0];
    if (layer === undefined || layer.size < BLOB_BYTES)
      throw new Error(`the single image's layer is smaller than ${BLOB_BYTES} bytes`);
    await pipeline(
      createReadStream(blobPath(layer.digest), { end: BLOB_BYTES - 1 }),
      createWriteStream(path),
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return { path, digest: `sha256:${hash.digest('hex')}`, size: BLOB_BYTES };
}

/** `skopeo copy` of a layout image into `server` as bench/<tag>:latest. */
const skopeoPushArgs = (server: BenchServer, tag: string) => [
  'copy',
  '--quiet',
  '--insecure-policy',
  '--dest-tls-verify=false',
  `oci:${layout}:${tag}`,
  `docker://${server.host}/bench/${tag}:latest`,
];

const skopeoPush = (server: BenchServer, tag: string) => timed('skopeo', skopeoPushArgs(server, tag), stats);

/** Checks that `server` answers bench/<tag>:latest with the layout's manifest, byte for byte. */
async function checkManifest(server: BenchServer, tag: string): Promise<void> {
  const answer = await fetch(`http://${server.host}/v2/bench/${tag}/manifests/latest`, {
    headers: { accept: ACCEPT },
  });
  const body = new Uint8Array(await answer.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (answer.status !== 200 || digest !== layoutDigest(tag))
    throw new Error(
      `${server.side} answers bench/${tag}:latest with ${answer.status} ${digest}, not the layout's ${layoutDigest(tag)}`,
    );
}

/** Uploads the blob to bench/blob on `server`: POST, then one PUT of the whole file by curl. */
async function uploadBlob(server: BenchServer, blob: Blob): Promise<void> {
  const base = `http://${server.host}`;
  const started = await fetch(`${base}/v2/bench/blob/blobs/uploads/`, { method: 'POST' });
  await started.arrayBuffer();
  const location = started.headers.get('location');
  if (started.status !== 202 || location === null)
    throw new Error(`${server.side}: POST of an upload answered ${started.status}, location ${location}`);
  const url = new URL(location, base);
  url.searchParams.set('digest', blob.digest);
  execFileSync('curl', ['-sS', '--fail', '-o', '/dev/null', '-H', 'Expect:', '-T', blob.path, url.href]);
  const head = await fetch(`${base}/v2/bench/blob/blobs/${blob.digest}`, { method: 'HEAD' });
  if (head.status !== 200 || Number(head.headers.get('content-length')) !== blob.size)
    throw new Error(`${server.side}: HEAD of the uploaded blob answered ${head.status}`);
}

// ---------------------------------------------------------------------------------------
// Measurements

/** One measurement of one side: its figure, and what the server and the rest spent on it. */
interface Sample {
  readonly side: Side;
  /** req/s, MB/s or s, as the operation measures. */
  readonly value: number;
  /** For best(): the lower the better. */
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly serverCpuSeconds: number;
  /** The client's (wrk, curl, skopeo). */
  readonly clientCpuSeconds: number;
  /** The rest of the machine's meanwhile: other processes, the kernel's writeback. */
  readonly otherCpuSeconds: number;
  /** The share of the machine's CPU the rest took meanwhile. */
  readonly otherShare: number;
  readonly note: string;
}

/** A client run against `server`, timed (measure.ts), with the CPU the server and the rest spent meanwhile. */
function observe(server: BenchServer, command: string, args: readonly string[]) {
  const serverBefore = processCpuSeconds(server.pid);
  const machineBefore = machineSeconds();
  const run = timed(command, args, stats);
  const machineAfter = machineSeconds();
  const serverCpuSeconds = processCpuSeconds(server.pid) - serverBefore;
  const machineBusy = machineAfter.busy - machineBefore.busy;
  const otherCpuSeconds = Math.max(0, machineBusy - serverCpuSeconds - run.cpuSeconds);
  return {
    run,
    serverCpuSeconds,
    clientCpuSeconds: run.cpuSeconds,
    otherCpuSeconds,
    otherShare: otherCpuSeconds / (machineAfter.all - machineBefore.all),
  };
}

const wrkArgs = (server: BenchServer, seconds: number) => [
  '-t2',
  `-c${connections}`,
  `-d${seconds}s`,
  '--latency',
  '-H',
  `Accept: ${ACCEPT}`,
  `http://${server.host}/v2/bench/small/manifests/latest`,
];

/** wrk's requests per second and latencies; an error for any failed request. */
function parseWrk(side: Side, output: string): { requestsPerSecond: number; note: string } {
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  if (non2xx !== undefined) throw new Error(`${side}: ${non2xx} manifest GETs failed under wrk\n${output}`);
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  if (!Number.isFinite(requestsPerSecond)) throw new Error(`wrk printed no Requests/sec:\n${output}`);
  const mean = /Latency\s+(\S+)/.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)?.[1];
  const errors = /Socket errors: (.*)/.exec(output)?.[1];
  return {
    requestsPerSecond,
    note: `latency mean ${mean}, p99 ${p99}${errors === undefined ? '' : `; socket errors ${errors}`}`,
  };
}

/** wrk for a while, unmeasured: a warm-up, or the load under a profiler. */
function runWrk(server: BenchServer, seconds: number): number {
  return parseWrk(server.side, execFileSync('wrk', wrkArgs(server, seconds), { encoding: 'utf8' }))
    .requestsPerSecond;
}

function measureManifest(server: BenchServer): Sample {
  const { run, ...spent } = observe(server, 'wrk', wrkArgs(server, duration));
  const { requestsPerSecond, note } = parseWrk(server.side, run.stdout);
  return {
    side: server.side,
    value: requestsPerSecond,
    seconds: 1 / requestsPerSecond,
    peakRssMiB: 0,
    ...spent,
    note: `${note}; wrk ${spent.clientCpuSeconds.toFixed(1)} s CPU`,
  };
}

function measureBlob(server: BenchServer, blob: Blob): Sample {
  const url = `http://${server.host}/v2/bench/blob/blobs/${blob.digest}`;
  const { run, ...spent } = observe(server, 'curl', [
    '-sS',
    '--fail',
    '-L',
    '-o',
    '/dev/null',
    '-w',
    '%{size_download} %{time_total}',
    url,
  ]);
  const [size = 0, seconds = 0] = run.stdout.trim().split(' ').map(Number);
  if (size !== blob.size)
    throw new Error(`${server.side}: the blob GET gave ${size} bytes, not ${blob.size}`);
  return {
    side: server.side,
    value: size / seconds / 1e6,
    seconds,
    peakRssMiB: 0,
    ...spent,
    note: `${seconds.toFixed(3)} s; curl ${spent.clientCpuSeconds.toFixed(1)} s CPU`,
  };
}

/** A push of `single` into a server started for it on empty storage, stopped afterwards. */
async function measurePush(side: Side): Promise<Sample> {
  const store = side === 'ours' ? freshStore() : undefined;
  const server = store === undefined ? await startDistribution() : await startOurs(store);
  try {
    execFileSync('sync');
    execFileSync('sh', ['-c', `find "${join(layout, 'blobs')}" -type f -exec cat {} + > /dev/null`]);
    await waitForQuietMachine();
    const { run, ...spent } = observe(server, 'skopeo', skopeoPushArgs(server, 'single'));
    const peakRss = peakRssMiB(server.pid);
    await checkManifest(server, 'single');
    return {
      side,
      value: run.seconds,
      seconds: run.seconds,
      peakRssMiB: peakRss,
      ...spent,
      note: `skopeo ${spent.clientCpuSeconds.toFixed(1)} s CPU, ${run.peakRssMiB} MiB`,
    };
  } finally {
    await server.stop();
    if (store !== undefined) removeStore(store);
  }
}

/**
 * Rounds alternating between the sides; per side the best, with the highest peak RSS. A
 * sample during which the rest of the machine took over a quarter of it (another program
 * on two cores) is taken again, up to twice.
 */
async function alternate(measure: (side: Side) => Promise<Sample>): Promise<Record<Side, Sample>> {
  const samples: Record<Side, Sample[]> = { ours: [], distribution: [] };
  for (let round = 0; round < rounds; round++) {
    for (const side of ['distribution', 'ours'] as const) {
      let sample: Sample;
      for (let attempt = 1; ; attempt++) {
        await waitForQuietMachine();
        sample = await measure(side);
        if (sample.otherShare <= 0.25 || attempt === 3) break;
        console.log(
          `  (${side}: the rest of the machine took ${(sample.otherShare * 100).toFixed(0)} % of it meanwhile: again)`,
        );
      }
      console.log(
        `  ${side}: ${sample.value.toFixed(sample.value < 100 ? 2 : 0)} (server ${sample.serverCpuSeconds.toFixed(1)} s CPU, others ${sample.otherCpuSeconds.toFixed(1)} s; ${sample.note})`,
      );
      samples[side].push(sample);
    }
  }
  return { ours: best(samples.ours), distribution: best(samples.distribution) };
}

interface Row {
  readonly operation: Operation;
  readonly ours: Sample;
  readonly distribution: Sample;
}

/** Both read servers with the `small` image and the blob; manifest and blob GETs on them. */
async function measureReads(blob: Blob): Promise<Row[]> {
  const store = freshStore();
  const servers: Partial<Record<Side, BenchServer>> = {};
  const rows: Row[] = [];
  try {
    servers.distribution = await startDistribution();
    servers.ours = await startOurs(store);
    const both = { ours: servers.ours, distribution: servers.distribution };
    console.log(
      `RSS on start: ours ${rssMiB(both.ours.pid)} MiB, distribution ${rssMiB(both.distribution.pid)} MiB`,
    );
    for (const server of Object.values(both)) {
      skopeoPush(server, 'small');
      await checkManifest(server, 'small');
      await uploadBlob(server, blob);
    }
    execFileSync('sync');
    console.log(
      `RSS once filled: ours ${rssMiB(both.ours.pid)} MiB, distribution ${rssMiB(both.distribution.pid)} MiB`,
    );
    for (const operation of operations.filter((each) => each !== 'push')) {
      console.log(LABELS[operation]);
      if (operation === 'manifest') for (const server of Object.values(both)) runWrk(server, 2);
      else for (const server of Object.values(both)) measureBlob(server, blob);
      for (const server of Object.values(both)) resetPeakRss(server.pid);
      const fastest = await alternate(async (side) =>
        operation === 'manifest' ? measureManifest(both[side]) : measureBlob(both[side], blob),
      );
      rows.push({
        operation,
        ours: { ...fastest.ours, peakRssMiB: peakRssMiB(both.ours.pid) },
        distribution: { ...fastest.distribution, peakRssMiB: peakRssMiB(both.distribution.pid) },
      });
    }
  } finally {
    await servers.ours?.stop();
    await servers.distribution?.stop();
    removeStore(store);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// Profile

interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly hitCount?: number;
  }>;
}

/**
 * Our server under --cpu-prof: wrk for a manifest, five GETs of the blob (both on a store
 * filled beforehand by a server of its own, so that the profile holds only the GETs), a
 * push of `single` into an empty store. Prints the functions and scripts it spends the
 * most self time in.
 */
async function profileOurs(operation: Operation, blob: Blob): Promise<void> {
  const store = freshStore();
  const profiles = join(work, 'profile', operation);
  rmSync(profiles, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  if (operation !== 'push') {
    const filler = await startOurs(store);
    try {
      if (operation === 'manifest') skopeoPush(filler, 'small');
      else await uploadBlob(filler, blob);
    } finally {
      await filler.stop();
    }
  }
  const server = await startOurs(store, ['--cpu-prof', `--cpu-prof-dir=${profiles}`]);
  try {
    if (operation === 'manifest') {
      runWrk(server, 2);
      console.log(`\nmanifest GET profiled: ${runWrk(server, duration).toFixed(0)} req/s under --cpu-prof`);
    } else if (operation === 'blob') {
      const figures = Array.from({ length: 5 }, () => measureBlob(server, blob).value.toFixed(0));
      console.log(`\nblob GET profiled: ${figures.join(', ')} MB/s under --cpu-prof`);
    } else {
      console.log(`\npush profiled: ${skopeoPush(server, 'single').seconds.toFixed(2)} s under --cpu-prof`);
    }
  } finally {
    await server.stop();
    removeStore(store);
  }
  const file = readdirSync(profiles).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no profile in ${profiles}`);
  const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const { callFrame, hitCount = 0 } of profile.nodes) {
    const where = callFrame.url === '' ? '' : basename(callFrame.url);
    const name = `${callFrame.functionName || '(anonymous)'}${where === '' ? '' : ` ${where}:${callFrame.lineNumber + 1}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hitCount);
    const script =
      callFrame.url === '' ? callFrame.functionName : callFrame.url.replace(/^.*node_modules\//, '');
    byFile.set(script, (byFile.get(script) ?? 0) + hitCount);
    total += hitCount;
  }
  const top = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, hits]) => `  ${((100 * hits) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  console.log(`${join(profiles, file)}, self time by function:\n${top(byFunction, 25)}`);
  console.log(`self time by script:\n${top(byFile, 15)}`);
}

// ---------------------------------------------------------------------------------------
// Report

const figure = (operation: Operation, value: number) =>
  operation === 'manifest' ? value.toFixed(0) : value.toFixed(operation === 'blob' ? 0 : 2);

mkdirSync(work, { recursive: true });
prepareImages();
// Ours runs from the packed packages, as a user's program would (SOURCES=1: from the sources).
const serverMain = join(here, '../internal/interop/src/server-main.ts');
const serverScript = process.env.SOURCES ? serverMain : packedScript(serverMain);
const blob = await prepareBlob();
const loadAtStart = loadavg()[0] ?? 0;
const rows: Row[] = [];
try {
  if (operations.some((operation) => operation !== 'push')) rows.push(...(await measureReads(blob)));
  if (operations.includes('push')) {
    console.log(LABELS.push);
    const push = await alternate(measurePush);
    rows.push({ operation: 'push', ...push });
  }
  const wrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim();
  console.log(
    `\nbest of ${rounds}; node ${process.version} (${process.env.SOURCES ? 'workspace sources' : 'packed packages'}), ${version('docker-registry', ['--version'])}, ${wrk}, ${version('curl', ['--version'])}, ${version('skopeo', ['--version'])}, ${availableParallelism()} cores; load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
  );
  console.log(
    '\n| operation | ours | distribution | ours / distribution | target | our peak RSS MiB | distribution peak RSS MiB | server CPU s, ours / distribution | client CPU s, ours / distribution |',
  );
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const { operation, ours, distribution } of rows) {
    const ratio = ours.value / distribution.value;
    console.log(
      `| ${LABELS[operation]} | ${figure(operation, ours.value)} | ${figure(operation, distribution.value)} | ${ratio.toFixed(2)} | ${targetCell(ratio, TARGETS[operation].ratio, TARGETS[operation].higherIsBetter)} | ${ours.peakRssMiB} | ${distribution.peakRssMiB} | ${ours.serverCpuSeconds.toFixed(1)} / ${distribution.serverCpuSeconds.toFixed(1)} | ${ours.clientCpuSeconds.toFixed(1)} / ${distribution.clientCpuSeconds.toFixed(1)} |`,
    );
  }
  const others = Math.max(...rows.flatMap((row) => [row.ours.otherShare, row.distribution.otherShare]));
  console.log(
    `Peak RSS is the server process's VmHWM over the operation's rounds (a push: that of the server started for it); CPU is that of the best round. The push time is skopeo's whole process, start-up included. The clients (wrk, curl, skopeo) share the two cores with the server; the rest of the machine took at most ${(others * 100).toFixed(0)} % of it during a best round.`,
  );
  if (process.env.PROFILE) {
    for (const operation of operations) await profileOurs(operation, blob);
  }
} finally {
  rmSync(stats, { force: true });
}
