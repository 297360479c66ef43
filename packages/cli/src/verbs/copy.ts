import { copy } from '@stevedore/copy';
import { endpointOf } from '../endpoints.ts';
import { platformSelectionOf } from '../global-options.ts';
import type { VerbContext } from '../verb.ts';

/** `stevedore copy SOURCE DESTINATION`. */
export async function runCopy(context: VerbContext): Promise<void> {
  const [source = '', destination = ''] = context.positionals.map(endpointOf);
  const progress = context.progress('copy');
  const started = Date.now();
  const result = await copy(source, destination, {
    ...platformSelectionOf(context.global),
    ...(context.flags.referrers === true ? { referrers: true } : {}),
    ...(context.global.concurrency === undefined ? {} : { concurrency: context.global.concurrency }),
    ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
    onProgress: progress.onProgress,
    registry: await context.registry(),
  });
  progress.done();
  context.debug(`copied in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  context.print(
    {
      source,
      destination,
      digest: result.digest,
      ...(result.referrers === undefined ? {} : { referrers: result.referrers }),
    },
    result.digest,
  );
}
