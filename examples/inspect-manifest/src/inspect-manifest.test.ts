import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const main = new URL('./main.ts', import.meta.url).pathname;
const fixture = (name: string) =>
  new URL(`../../../packages/manifest/test/fixtures/${name}`, import.meta.url).pathname;
const run = (args: string[]) => promisify(execFile)(process.execPath, [main, ...args]);

describe('inspect-manifest example', () => {
  it('lists the platforms of an index with their digests', async () => {
    const { stdout } = await run([fixture('docker-manifest-list-arm.json')]);
    expect(stdout).toContain('index application/vnd.docker.distribution.manifest.list.v2+json');
    expect(stdout).toContain(
      'digest sha256:82d1e9d7ed48a7523bdebc18cf6290bdb97b82302a8a9c27d4fe885949ea94d1',
    );
    expect(stdout).toMatch(/linux\/arm\/v7\s+sha256:0b75b5bf/);
  });

  it('prints the error code and exits 1 for a bad manifest', async () => {
    const failure = await run([fixture('spec-config.json')]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(
      /^ERR_MANIFEST_INVALID: invalid manifest at \$: neither an image manifest/,
    );
  });
});
