// Where the demo keeps its layout, registry store, log and server pid: `.demo/` in the
// directory it runs from (DEMO_DIR overrides).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

export const DEMO_DIR = resolve(process.env.DEMO_DIR ?? '.demo');
export const PID_FILE = join(DEMO_DIR, 'serve.pid');

/** The `stevedore` binary's entry, run with this Node. */
export const STEVEDORE_MAIN = join(
  dirname(createRequire(import.meta.url).resolve('@stevedore/cli/package.json')),
  'src',
  'main.ts',
);

/** The pid of a demo server still running, if any. */
export async function runningServerPid(): Promise<number | undefined> {
  const pid = Number(await readFile(PID_FILE, 'utf8').catch(() => Number.NaN));
  if (!Number.isSafeInteger(pid)) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Stops the demo server (SIGTERM) and waits until it is gone; false when none ran. */
export async function stopServer(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000; waited += 50) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
  throw new Error(`the demo server (pid ${pid}) did not stop within 10 s`);
}
