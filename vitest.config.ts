import { defineConfig } from 'vitest/config';

// One run, three projects: `unit` is the fast loop; `interop` runs against real peers
// (skopeo, umoci, distribution); `repo` holds the repository checks (lint, types, layers,
// packed packages). The JSON report feeds the counts line of .ci/run.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    testTimeout: 20_000,
    globalSetup: ['./vitest.global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,examples}/*/src/**/*.test.ts'],
          exclude: ['**/*.interop.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'interop',
          include: ['{packages,examples,internal}/*/src/**/*.interop.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'repo', include: ['internal/*/src/**/*.test.ts'], exclude: ['**/*.interop.test.ts'] },
      },
    ],
  },
});
