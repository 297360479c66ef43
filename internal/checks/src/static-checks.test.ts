// Lint, format and type checks as tests, so CI counts them with everything else.
import { describe, expect, it } from 'vitest';
import { projects, runBin } from './workspace.ts';

it('biome finds no lint or format problems', { timeout: 120_000 }, async () => {
  const { stdout, stderr } = await runBin('biome', ['check', '--error-on-warnings', '.']);
  expect(`${stdout}${stderr}`).toMatch(/Checked \d+ files/);
});

describe.each([
  ...projects('packages', 'tsconfig.json'),
  ...projects('internal', 'tsconfig.json'),
  ...projects('examples', 'tsconfig.json'),
  'bench',
])('%s', (folder) => {
  it('type-checks (tsc --noEmit)', { timeout: 180_000 }, async () => {
    const { stdout } = await runBin('tsc', ['--noEmit', '-p', folder]);
    expect(stdout).toBe('');
  });
});
