// What Linux's /proc tells the benchmarks about a process and the machine: CPU time, peak
// and current RSS, and whether anything else is running (on two cores, whatever else runs
// is timed with us).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** The CPU a process has used so far, in seconds (/proc/<pid>/stat: utime and stime, fields 14 and 15). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const kiB = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  )?.[1];
  if (kiB === undefined) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(kiB);
}

/** A process's peak resident memory so far (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  return Math.round(statusKiB(pid, 'VmHWM') / 1024);
}

/** A process's resident memory now (VmRSS), in MiB. */
export function rssMiB(pid: number): number {
  return Math.round(statusKiB(pid, 'VmRSS') / 1024);
}

/** Resets a process's VmHWM to its current RSS (proc(5), clear_refs: 5). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The machine's CPU time so far, busy and in all, in seconds (/proc/stat, every core). */
export function machineSeconds(): { busy: number; all: number } {
  // cpu  user nice system idle iowait irq softirq steal …
  const values = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const all = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (all - idle) / ticks, all: all / ticks };
}

/** Waits until the machine has been under 10 % busy for a second, for two minutes at most. */
export async function waitForQuietMachine(): Promise<void> {
  const deadline = Date.now() + 120_000;
  let busy = 1;
  while (Date.now() < deadline) {
    const before = machineSeconds();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = machineSeconds();
    busy = (after.busy - before.busy) / (after.all - before.all);
    if (busy < 0.1) return;
  }
  console.log(`(the machine is still ${(busy * 100).toFixed(0)} % busy after two minutes: measuring anyway)`);
}
