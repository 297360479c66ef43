// Starts the Stevedore registry in a child process (server-main.ts) on a store directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { StartServerOptions } from '@stevedore/server';

/** A registry process: `host` is `127.0.0.1:<port>`. */
export interface ServerProcess {
  readonly url: string;
  readonly host: string;
  readonly child: ChildProcess;
  /** Its resident memory now, in bytes (Linux). */
  rss(): Promise<number>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM, a clean stop. */
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./server-main.ts', import.meta.url));

/** Starts a registry on `store` (a directory) in its own Node process. */
export async function startServerProcess(
  store: string,
  options: Omit<Partial<StartServerOptions>, 'store'> = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, store, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server process exited (${code}) before listening`)));
    child.stdout?.on('data', (data: string) => {
      output += data;
      const end = output.indexOf('\n');
      if (end !== -1) resolve(output.slice(0, end));
    });
  });
  const { url, host } = JSON.parse(line) as { url: string; host: string };
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(name);
    await exited;
  };
  return {
    url,
    host,
    child,
    async rss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
