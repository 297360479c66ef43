// Where things are in the workspace, for the repository checks.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The workspace root. */
export const ROOT = new URL('../../../', import.meta.url).pathname;

/** The workspace projects under a folder (`packages`, `internal`, `examples`) that have a file. */
export function projects(folder: string, withFile = 'package.json'): string[] {
  const dir = join(ROOT, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, withFile)))
    .map((entry) => join(folder, entry.name))
    .sort();
}

/** Runs a binary of the workspace's node_modules/.bin; resolves with its output, rejects with it. */
export async function runBin(
  bin: string,
  args: readonly string[],
  cwd = ROOT,
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(join(ROOT, 'node_modules/.bin', bin), args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
}
