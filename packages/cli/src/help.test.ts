import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { commandHelp, referenceMarkdown, verbHelp } from './help.ts';
import { VERBS } from './verbs.ts';

describe('help', () => {
  it('keeps docs/cli.md as the verb specs make it (pnpm --filter @stevedore/cli docs)', async () => {
    const written = await readFile(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    expect(written).toBe(referenceMarkdown(VERBS));
  });

  it('gives every verb a summary, a description and an example, and no name twice', () => {
    const names = VERBS.flatMap((verb) => [verb.name, ...(verb.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const verb of VERBS) {
      expect(verb.summary, verb.name).not.toBe('');
      expect(verb.description.length, verb.name).toBeGreaterThan(verb.summary.length);
      expect(
        verb.examples.some(
          (line) =>
            line.startsWith(`stevedore ${verb.name}`) ||
            verb.aliases?.some((alias) => line.startsWith(`stevedore ${alias}`)),
        ),
        verb.name,
      ).toBe(true);
      expect(verbHelp(verb)).toContain(`Usage: stevedore ${verb.name}`);
    }
    expect(commandHelp(VERBS, '1.2.3')).toContain('stevedore 1.2.3');
  });
});
