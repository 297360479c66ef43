// What the command line's tests share (not published: outside src/): a registry of our own
// per test, stopped after it; scratch directories; a directory tree from a map of files.
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { afterEach } from 'vitest';

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** Our registry on an in-memory store, on a free loopback port, stopped after the test. */
export async function registry(): Promise<RunningServer> {
  const server = await startServer({ store: createMemoryStore() });
  running.push(server);
  return server;
}

/** A fresh directory under the system's temporary one. */
export function temporary(prefix = 'stevedore-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A directory holding `files` (relative path → content). */
export async function directoryWith(files: Record<string, string>): Promise<string> {
  const root = join(await temporary(), 'root');
  await mkdir(root, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), content);
  }
  return root;
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
