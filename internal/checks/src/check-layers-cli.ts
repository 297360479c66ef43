// `pnpm check:layers`: prints every violation of the layer rule and exits 1 if there is one.
import { checkLayers } from './check-layers.ts';

const root = new URL('../../../', import.meta.url).pathname;
const violations = await checkLayers(root);
for (const violation of violations)
  console.error(`${violation.file}: [${violation.rule}] ${violation.message}`);
console.log(violations.length === 0 ? 'layers: ok' : `layers: ${violations.length} violation(s)`);
process.exitCode = violations.length === 0 ? 0 : 1;
