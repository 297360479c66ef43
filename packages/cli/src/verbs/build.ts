// build and append: images made from directories and tar files, without a daemon.
import { appendLayer, type BuildOptions, buildImage } from '@stevedore/build';
import type { Image } from '@stevedore/image';
import { usageError } from '../errors.ts';
import { onePlatformOf } from '../global-options.ts';
import type { VerbContext } from '../verb.ts';
import { compressionOf, configChangesOf, keyValuesOf } from './build-flags.ts';
import { destinationOf, readImage, signalOf, withScratchDirectory, writeResult } from './build-output.ts';

/** `stevedore build DIR|TAR... --to ENDPOINT`. */
export async function runBuild(context: VerbContext): Promise<void> {
  const verb = context.verb.name;
  const destination = destinationOf(context);
  const config = configChangesOf(context.flags, verb);
  const platform = onePlatformOf(context.global, context.verb.name);
  const format = formatOf(context);
  const annotations =
    context.flags.annotation === undefined
      ? undefined
      : keyValuesOf(context.flags.annotation, 'annotation', verb);
  if (annotations !== undefined && format === 'docker') {
    throw usageError('--annotation needs the OCI format: a Docker manifest has no annotations', verb);
  }
  const options = {
    ...layerOptionsOf(context),
    ...(platform === undefined ? {} : { platform }),
    ...(format === undefined ? {} : { format }),
    ...(annotations === undefined ? {} : { annotations }),
  };
  await withScratchDirectory(async (blobDirectory) => {
    const image = await buildImage(context.positionals, config, { ...options, blobDirectory });
    context.debug(`built ${image.manifest.digest} from ${context.positionals.length} layer(s)`);
    await writeResult(context, image, destination);
  });
}

/** `stevedore append BASE LAYER... --to ENDPOINT`. */
export async function runAppend(context: VerbContext): Promise<void> {
  const destination = destinationOf(context);
  const [base = '', ...inputs] = context.positionals;
  const options = layerOptionsOf(context);
  const platform = onePlatformOf(context.global, context.verb.name);
  const image = await readImage(context, base, platform);
  await withScratchDirectory(async (blobDirectory) => {
    let next: Image = image;
    for (const input of inputs) next = await appendLayer(next, input, { ...options, blobDirectory });
    await writeResult(context, next, destination);
  });
}

// What every new layer is made with: the compression asked for, the time from
// SOURCE_DATE_EPOCH (reproducible-builds.org) when set, warnings to stderr, the signal.
function layerOptionsOf(context: VerbContext): BuildOptions {
  const verb = context.verb.name;
  const compression = compressionOf(context.flags, verb);
  const epoch = context.io.env.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = epoch === undefined || epoch === '' ? undefined : Number(epoch);
  if (sourceDateEpoch !== undefined && (!Number.isSafeInteger(sourceDateEpoch) || sourceDateEpoch < 0)) {
    throw usageError(
      `SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, got ${JSON.stringify(epoch)}`,
      verb,
    );
  }
  return {
    ...(compression === undefined ? {} : { compression }),
    ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }),
    ...signalOf(context),
    onEvent: (event) => {
      if (event.type === 'warning') context.log(`${verb}: warning: ${event.message}`);
      else context.debug(`${verb}: layer ${event.digest} (${event.uncompressedSize} bytes uncompressed)`);
    },
  };
}

function formatOf(context: VerbContext): 'oci' | 'docker' | undefined {
  const value = context.flags.format;
  if (value === undefined || value === 'oci' || value === 'docker') return value;
  throw usageError(`--format takes oci or docker, got ${JSON.stringify(value)}`, context.verb.name);
}
