// Every published package builds, packs, and passes publint (strict) and
// @arethetypeswrong/cli (ESM-only profile) on the packed tarball (STYLE.md, A package).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projects, ROOT, runBin } from './workspace.ts';

let destination: string;
beforeAll(async () => {
  destination = await mkdtemp(join(tmpdir(), 'stevedore-pack-'));
});
afterAll(async () => {
  await rm(destination, { recursive: true, force: true });
});

describe.each(projects('packages'))('%s', (folder) => {
  it('builds, packs, and passes publint and attw', { timeout: 180_000 }, async () => {
    const cwd = join(ROOT, folder);
    await runBin('pnpm', ['run', 'build'], cwd);
    const { stdout } = await runBin('pnpm', ['pack', '--pack-destination', destination], cwd);
    const tarball = stdout.trim().split('\n').at(-1) ?? '';
    expect(tarball).toMatch(/\.tgz$/);

    const publint = await runBin('publint', ['run', tarball, '--strict']);
    expect(publint.stdout).toContain('All good!');

    const attw = await runBin('attw', [tarball, '--profile', 'esm-only', '--format', 'json']);
    // attw exits non-zero on a problem; the JSON still lists the ones the ESM-only profile ignores.
    const report = JSON.parse(attw.stdout) as { analysis: { problems: Array<{ resolutionKind?: string }> } };
    const ignored = ['node10', 'node16-cjs'];
    const problems = report.analysis.problems.filter((p) => !ignored.includes(p.resolutionKind ?? ''));
    expect(problems).toEqual([]);

    const manifest = JSON.parse(await readFile(join(cwd, 'package.json'), 'utf8'));
    expect(manifest.engines?.node).toBe('>=22.15');
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.type).toBe('module');
  });
});
