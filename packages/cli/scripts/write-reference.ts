// Writes docs/cli.md from the verb specs: `pnpm --filter @stevedore/cli docs`.
import { writeFileSync } from 'node:fs';
import { referenceMarkdown } from '../src/help.ts';
import { VERBS } from '../src/verbs.ts';

const target = new URL('../../../docs/cli.md', import.meta.url);
writeFileSync(target, referenceMarkdown(VERBS));
console.log(`wrote ${target.pathname}`);
