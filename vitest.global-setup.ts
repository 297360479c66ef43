// One temporary directory per test run, removed when the run ends: what tests, the
// libraries under test (a build's blobs live in a fresh temporary directory the caller
// owns) and the peers they start (skopeo, docker-registry) leave in `os.tmpdir()` goes
// with it. Workers start after this and inherit TMPDIR.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  // Each project of the run calls this; the first one makes the directory.
  if (process.env.STEVEDORE_TEST_TMPDIR !== undefined) return async () => {};
  const previous = process.env.TMPDIR;
  const run = await mkdtemp(join(tmpdir(), 'stevedore-test-run-'));
  await chmod(run, 0o1777); // as /tmp: tests that run a step as another user reach into it
  process.env.TMPDIR = run;
  process.env.STEVEDORE_TEST_TMPDIR = run;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    delete process.env.STEVEDORE_TEST_TMPDIR;
    await rm(run, { recursive: true, force: true });
  };
}
