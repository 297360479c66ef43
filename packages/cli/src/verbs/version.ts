import { cliVersion } from '../cli-version.ts';
import type { VerbContext } from '../verb.ts';

/** `stevedore version`. */
export async function runVersion(context: VerbContext): Promise<void> {
  const version = cliVersion();
  context.print(
    { stevedore: version, node: process.versions.node, platform: `${process.platform}/${process.arch}` },
    version,
  );
}
