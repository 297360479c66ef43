// The real tree the build and copy benchmarks use.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where benchmarks keep their data (gitignored). */
export const BENCH_DATA = join(new URL('.', import.meta.url).pathname, '.data');

/** The tree (TREE=/path to use another): hardlinked copies of two real directories of /usr/lib, about 1.2 GB. */
export function prepareTree(): string {
  if (process.env.TREE) return process.env.TREE;
  const tree = join(BENCH_DATA, 'tree');
  if (!existsSync(tree)) {
    execFileSync('mkdir', ['-p', tree]);
    for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/jvm']) {
      if (existsSync(dir)) execFileSync('cp', ['-al', dir, tree]);
    }
  }
  return tree;
}
