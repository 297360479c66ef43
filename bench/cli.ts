// The `stevedore` command's start-up: the packed @stevedore/cli as npm installs it, its
// `dist/main.js` run by Node, against `node -e 0` (Node's own start-up) in the same run.
// Each command runs RUNS times (default 30) after two unmeasured runs; the median and the
// 90th percentile of the wall time of the whole process count. The target (issue 7):
// `stevedore --version` under 150 ms.
// Run: pnpm bench:cli   (RUNS=30; SOURCES=1 to run the workspace sources instead)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { installPackedPackages } from './packed.ts';
import { waitForQuietMachine } from './proc.ts';

const runs = Number(process.env.RUNS ?? 30);
const here = new URL('.', import.meta.url).pathname;
const main = process.env.SOURCES
  ? join(here, '../packages/cli/src/main.ts')
  : join(installPackedPackages(), 'node_modules/@stevedore/cli/dist/main.js');

const COMMANDS: ReadonlyArray<{ label: string; args: readonly string[]; target?: number }> = [
  { label: 'node -e 0 (Node alone)', args: ['-e', '0'] },
  { label: 'stevedore --version', args: [main, '--version'], target: 150 },
  { label: 'stevedore --help', args: [main, '--help'] },
  { label: 'stevedore copy --help', args: [main, 'copy', '--help'] },
];

/** Wall milliseconds of each run of `node ARGS`. */
function time(args: readonly string[]): number[] {
  const samples: number[] = [];
  for (let run = -2; run < runs; run += 1) {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
    if (child.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${child.stderr}`);
    if (run >= 0) samples.push(milliseconds);
  }
  return samples.sort((a, b) => a - b);
}

const at = (sorted: readonly number[], fraction: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;

await waitForQuietMachine();
console.log(
  `\n${runs} runs each; node ${process.version}; ${process.env.SOURCES ? 'workspace sources' : 'packed packages'}\n`,
);
console.log('| command | median ms | p90 ms | target |');
console.log('|---|---:|---:|---|');
for (const command of COMMANDS) {
  const samples = time(command.args);
  const median = at(samples, 0.5);
  const target =
    command.target === undefined
      ? ''
      : `< ${command.target}: ${median < command.target ? 'met' : '**not met**'}`;
  console.log(`| ${command.label} | ${median.toFixed(0)} | ${at(samples, 0.9).toFixed(0)} | ${target} |`);
}
