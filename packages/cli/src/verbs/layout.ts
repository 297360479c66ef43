// layout gc PATH: the blobs of an OCI image layout that nothing in it uses, removed.
import { collectOciLayoutGarbage } from '@stevedore/transport-oci';
import { usageError } from '../errors.ts';
import { formatBytes } from '../progress.ts';
import type { VerbContext } from '../verb.ts';

/** The subverbs of `layout`. */
export const LAYOUT_SUBVERBS = ['gc'] as const;

/** `stevedore layout gc PATH`. */
export async function runLayout(context: VerbContext): Promise<void> {
  const [subverb = '', given = ''] = context.positionals;
  if (!(LAYOUT_SUBVERBS as readonly string[]).includes(subverb)) {
    throw usageError(
      `unknown layout subverb ${JSON.stringify(subverb)}: expected ${LAYOUT_SUBVERBS.join(', ')}`,
      'layout',
    );
  }
  const path = layoutPathOf(given);
  const minimumAge = minimumAgeOf(context.flags['minimum-age']);
  const dryRun = context.flags['dry-run'] === true;
  const result = await collectOciLayoutGarbage(path, {
    dryRun,
    minimumAge,
    ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
  });
  for (const digest of result.missing) {
    context.log(`layout gc: ${path} lacks the manifest ${digest} that its index.json reaches`);
  }
  const verb = dryRun ? 'would remove' : 'removed';
  const lines = result.removed.map((blob) => `${verb} ${blob.digest} ${formatBytes(blob.size)}`);
  lines.push(
    `${dryRun ? 'would remove' : 'removed'} ${result.removed.length} blob${result.removed.length === 1 ? '' : 's'}, ${formatBytes(result.bytesFreed)}${dryRun ? '' : ' freed'}; ${result.kept} kept`,
  );
  context.print({ path, dryRun, ...result }, lines.join('\n'));
}

// PATH, or oci:PATH (an endpoint without a tag: the whole layout is collected).
function layoutPathOf(given: string): string {
  if (!given.startsWith('oci:')) return given;
  const path = given.slice('oci:'.length);
  if (path.includes(':')) {
    throw usageError(`layout gc collects a whole layout: give its PATH, not a tag (${given})`, 'layout');
  }
  return path;
}

function minimumAgeOf(value: unknown): number {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw usageError(`--minimum-age takes a number of seconds, got ${JSON.stringify(value)}`, 'layout');
  }
  return seconds * 1000;
}
