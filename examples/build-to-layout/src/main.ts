#!/usr/bin/env node
// Usage: build-to-layout DIR LAYOUT[:TAG] [--platform os/arch] [--zstd] [-- CMD...]
// Builds a one-layer image from DIR, its layer written straight into the OCI layout, and
// prints the digest. The same DIR gives the same digest on any machine.
import { buildFromDir } from '@stevedore/build';
import { StevedoreError } from '@stevedore/errors';
import { openOciLayoutBlobSink, writeOciLayout } from '@stevedore/transport-oci';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const cmd = dash < 0 ? undefined : args.slice(dash + 1);
const options = dash < 0 ? args : args.slice(0, dash);
const platformAt = options.indexOf('--platform');
const platform = platformAt < 0 ? 'linux/amd64' : (options[platformAt + 1] ?? 'linux/amd64');
const compression = options.includes('--zstd') ? 'zstd' : 'gzip';
const [dir, target] = options.filter(
  (arg, index) => !arg.startsWith('--') && (platformAt < 0 || index !== platformAt + 1),
);
if (dir === undefined || target === undefined) {
  console.error('usage: build-to-layout DIR LAYOUT[:TAG] [--platform os/arch] [--zstd] [-- CMD...]');
  process.exit(2);
}
const [layout = target, tag = 'latest'] = target.split(':');

try {
  const image = await buildFromDir(dir, cmd === undefined ? {} : { cmd }, {
    platform,
    compression,
    blobSink: await openOciLayoutBlobSink(layout),
  });
  await writeOciLayout(layout, image, { tag });
  console.log(image.manifest.digest.toString());
} catch (error) {
  if (!StevedoreError.is(error)) throw error;
  console.error(`${error.code}: ${error.message}`);
  process.exitCode = 1;
}
