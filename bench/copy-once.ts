// One measured copy (or flatten) for bench/copy.ts and bench/registry.ts, in its own
// process so its peak RSS is its own. Prints { seconds, peakRssMiB } as JSON; seconds
// leave out Node's start-up.
// Usage: node bench/copy-once.ts dir|oci-archive|docker-archive|flatten LAYOUT TAG OUTPUT
//        node bench/copy-once.ts copy SOURCE DESTINATION   (any endpoints, docker:// too)
import { copy } from '../packages/copy/src/index.ts';
import { flatten } from '../packages/mutate/src/index.ts';
import { openOciLayoutBlobSink, readOciLayout, writeOciLayout } from '../packages/transport-oci/src/index.ts';

const [operation, layout, tag, output] = process.argv.slice(2) as [string, string, string, string];
const destinations: Readonly<Record<string, string>> = {
  dir: `dir:${output}`,
  'oci-archive': `oci-archive:${output}:${tag}`,
  'docker-archive': `docker-archive:${output}:stevedore-bench:${tag}`,
};

const start = process.hrtime.bigint();
if (operation === 'flatten') {
  // The flattened layer goes straight into the output layout, as a user would do it.
  const image = await readOciLayout(layout, { tag });
  if (image.kind !== 'image') throw new Error(`${layout}:${tag} is an ${image.kind}, not an image`);
  const flat = await flatten(image, { blobSink: await openOciLayoutBlobSink(output) });
  await writeOciLayout(output, flat, { tag });
} else if (operation === 'copy') {
  const [, source, destination] = process.argv.slice(2) as [string, string, string];
  await copy(source, destination);
} else {
  const destination = destinations[operation];
  if (destination === undefined) throw new Error(`unknown operation ${operation}`);
  await copy(`oci:${layout}:${tag}`, destination);
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({ seconds, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
