// Progress of the blobs a copy, push, pull or build moves: bars redrawn in place on a
// terminal, one line per finished blob elsewhere, nothing with --quiet. Written to stderr,
// so stdout keeps only the result.
import type { BlobProgress } from '@stevedore/image';
import type { CliOutput } from './cli-io.ts';

/** A progress display; `onProgress` goes to a copy's options. */
export interface Progress {
  readonly onProgress: (event: BlobProgress) => void;
  /** Draws the last state and lets go of the terminal. */
  done(): void;
}

/** How progress shows: bars (a terminal), lines (a log), or not at all (`--quiet`, `--json`). */
export type ProgressMode = 'bars' | 'lines' | 'none';

interface BlobState {
  readonly digest: string;
  readonly size: number;
  bytes: number;
  state: BlobProgress['state'];
}

/** A progress display for `title` (`copy`, `push`…) on `output`. */
export function createProgress(
  title: string,
  output: CliOutput,
  mode: ProgressMode,
  now = Date.now,
): Progress {
  if (mode === 'none') return { onProgress: () => undefined, done: () => undefined };
  const blobs = new Map<string, BlobState>();
  const started = now();
  let drawnLines = 0;
  let lastDraw = 0;

  const draw = () => {
    const width = Math.max(40, output.columns);
    const lines = [...blobs.values()].map((blob) => fitLine(blobLine(blob, started, now()), width));
    lines.push(fitLine(totalLine(title, [...blobs.values()], started, now()), width));
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    output.write(`${up}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
    drawnLines = lines.length;
    lastDraw = now();
  };

  return {
    onProgress(event) {
      const digest = event.descriptor.digest;
      const blob = blobs.get(digest) ?? { digest, size: event.descriptor.size, bytes: 0, state: event.state };
      blobs.set(digest, blob);
      blob.bytes = event.state === 'done' ? blob.size : event.bytes;
      blob.state = event.state;
      if (mode === 'lines') {
        if (event.state === 'done' || event.state === 'skipped' || event.state === 'mounted') {
          output.write(
            `${title}: ${shortDigest(digest)} ${formatBytes(blob.size)} ${STATE_WORDS[event.state]}\n`,
          );
        }
        return;
      }
      if (event.state !== 'progress' || now() - lastDraw >= 100) draw();
    },
    done() {
      if (mode === 'bars' && blobs.size > 0) draw();
      if (mode === 'lines' && blobs.size > 0)
        output.write(`${totalLine(title, [...blobs.values()], started, now())}\n`);
    },
  };
}

const STATE_WORDS: Readonly<Record<BlobProgress['state'], string>> = {
  skipped: 'exists',
  mounted: 'mounted',
  started: 'started',
  progress: 'moving',
  done: 'done',
};

function blobLine(blob: BlobState, started: number, at: number): string {
  const digest = shortDigest(blob.digest);
  if (blob.state === 'skipped' || blob.state === 'mounted') {
    return `${digest} ${formatBytes(blob.size).padStart(10)}  ${STATE_WORDS[blob.state]}`;
  }
  const fraction = blob.size === 0 ? 1 : Math.min(1, blob.bytes / blob.size);
  const bar = progressBar(fraction, 24);
  const rate = blob.state === 'done' ? '' : `  ${formatRate(blob.bytes, at - started)}`;
  return `${digest} ${bar} ${formatBytes(blob.bytes).padStart(10)} / ${formatBytes(blob.size)}${rate}`;
}

function totalLine(title: string, blobs: readonly BlobState[], started: number, at: number): string {
  const finished = blobs.filter(
    (blob) => blob.state === 'done' || blob.state === 'skipped' || blob.state === 'mounted',
  );
  const moved = blobs.reduce(
    (sum, blob) => sum + (blob.state === 'skipped' || blob.state === 'mounted' ? 0 : blob.bytes),
    0,
  );
  const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
  const seconds = ((at - started) / 1000).toFixed(1);
  const rate = formatRate(moved, at - started);
  return `${title}: ${finished.length}/${blobs.length} blobs, ${formatBytes(moved)} moved of ${formatBytes(total)}, ${rate === '' ? '' : `${rate}, `}${seconds} s`;
}

function progressBar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (fraction >= 1 ? '=' : '>') : ''}${' '.repeat(width - filled)}]`;
}

function fitLine(line: string, width: number): string {
  return line.length < width ? line : `${line.slice(0, width - 2)}…`;
}

/** `sha256:0123456789ab`: enough of a digest to tell blobs apart. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return digest.slice(0, colon + 13);
}

/** Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `493.2 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatRate(bytes: number, milliseconds: number): string {
  return milliseconds <= 0 ? '' : `${formatBytes(Math.round((bytes * 1000) / milliseconds))}/s`;
}
