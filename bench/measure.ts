// What the benchmarks that time whole processes share: which images and operations to
// run (from the environment), a command timed under GNU time, the best of several runs,
// and tool versions for the report.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const MiB = 2 ** 20;
/** The issues' memory target: 150 MB, in MiB. */
export const RSS_TARGET_MIB = 150e6 / MiB;

/** The names in `variable` (comma-separated), checked against `all`; `all` when unset. */
export function selected<T extends string>(variable: string, all: readonly T[]): T[] {
  const wanted = process.env[variable]?.split(',').map((name) => name.trim());
  if (wanted === undefined) return [...all];
  const unknown = wanted.filter((name) => !all.includes(name as T));
  if (unknown.length > 0)
    throw new Error(`${variable}: unknown ${unknown.join(', ')}; expected ${all.join(', ')}`);
  return all.filter((name) => wanted.includes(name));
}

/** What a timed process cost. */
export interface Sample {
  /** Wall time of the whole process (start-up included), as the parent saw it. */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** Ours: the time inside the process, from the first call to the last. */
  readonly innerSeconds?: number;
}

/** One timed process, with what it printed. */
export interface Timed extends Sample {
  readonly stdout: string;
}

/**
 * Runs a command under GNU time (its figures written to `stats`): wall time measured
 * here, CPU time and peak RSS from time(1).
 */
export function timed(command: string, args: readonly string[], stats: string): Timed {
  const start = process.hrtime.bigint();
  const child = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', stats, command, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * MiB,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${child.status})`);
  const [rssKiB = 0, user = 0, system = 0] = (readFileSync(stats, 'utf8').trim().split('\n').at(-1) ?? '')
    .split(' ')
    .map(Number);
  return { seconds, cpuSeconds: user + system, peakRssMiB: Math.round(rssKiB / 1024), stdout: child.stdout };
}

/** The fastest of some runs, with the highest peak RSS of them all. */
export function best<T extends { readonly seconds: number; readonly peakRssMiB: number }>(
  samples: readonly T[],
): T {
  const fastest = samples.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { ...fastest, peakRssMiB: Math.max(...samples.map((each) => each.peakRssMiB)) };
}

/** The first line of a tool's version output. */
export function version(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
}

/**
 * The target cell of a report row: `≤ limit: met` or `**not met**` for a ratio of times
 * (`≥` for a ratio of throughputs, `higherIsBetter`), three decimals at a tie.
 */
export function targetCell(ratio: number, limit: number | undefined, higherIsBetter = false): string {
  if (limit === undefined) return '';
  const tie = ratio.toFixed(2) === limit.toFixed(2) ? ` (${ratio.toFixed(3)})` : '';
  const met = higherIsBetter ? ratio >= limit : ratio <= limit;
  return `${higherIsBetter ? '≥' : '≤'} ${limit.toFixed(2)}: ${met ? 'met' : '**not met**'}${tie}`;
}

/** Our peak RSS, in bold when over the memory target. */
export function rssCell(peakRssMiB: number): string {
  return peakRssMiB > RSS_TARGET_MIB ? `**${peakRssMiB}**` : `${peakRssMiB}`;
}

/**
 * The line saying whether our peak RSS is flat in image size: per operation, the large
 * images' peaks against the small one's (nothing without a `small` row).
 */
export function flatnessLine(
  rows: readonly {
    readonly operation: string;
    readonly image: string;
    readonly ours: { readonly peakRssMiB: number };
  }[],
  operations: readonly string[],
  images: readonly string[],
): string | undefined {
  const flatness = operations.flatMap((operation) => {
    const small = rows.find((row) => row.operation === operation && row.image === 'small');
    const large = images
      .filter((image) => image !== 'small')
      .map((image) => rows.find((row) => row.operation === operation && row.image === image));
    if (small === undefined || large.length === 0) return [];
    return [
      `${operation} ${large.map((row) => row?.ours.peakRssMiB).join(' / ')} vs ${small.ours.peakRssMiB}`,
    ];
  });
  return flatness.length === 0
    ? undefined
    : `Our peak RSS, large images vs the small one (MiB): ${flatness.join('; ')}.`;
}
