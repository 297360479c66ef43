import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = new URL('./main.ts', import.meta.url).pathname;
const run = (args: string[]) => promisify(execFile)(process.execPath, [main, ...args]);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-example-'));
  await mkdir(join(scratch, 'site'));
  await writeFile(join(scratch, 'site', 'index.html'), '<h1>hello</h1>\n');
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('build-to-layout example', () => {
  it('builds the same digest twice and tags it in the layout', async () => {
    const first = await run([join(scratch, 'site'), `${join(scratch, 'layout')}:v1`, '--', 'httpd']);
    const second = await run([join(scratch, 'site'), `${join(scratch, 'layout')}:v2`, '--', 'httpd']);
    expect(first.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(second.stdout).toBe(first.stdout);
    const index = JSON.parse(await readFile(join(scratch, 'layout', 'index.json'), 'utf8'));
    expect(
      index.manifests.map(
        (entry: { annotations: Record<string, string> }) =>
          entry.annotations['org.opencontainers.image.ref.name'],
      ),
    ).toEqual(['v1', 'v2']);
  });

  it('prints the error code for a directory that does not exist', async () => {
    const failure = await run([join(scratch, 'missing'), join(scratch, 'layout2')]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/^ERR_READ_FAILED: cannot read /);
  });
});
