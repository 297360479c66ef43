// One measured build for bench/build.ts, in its own process so its peak RSS is its own.
import { buildFromDir } from '../packages/build/src/index.ts';
import { openOciLayoutBlobSink, writeOciLayout } from '../packages/transport-oci/src/index.ts';

const [tree, layout, compression] = process.argv.slice(2) as [string, string, 'gzip' | 'zstd' | 'none'];
const start = process.hrtime.bigint();
// Layer blobs go straight into the layout, as a user building into a layout would do.
const image = await buildFromDir(tree, {}, { compression, blobSink: await openOciLayoutBlobSink(layout) });
await writeOciLayout(layout, image, { tag: 'bench' });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const layerBytes = image.manifest.json.layers.reduce((sum, layer) => sum + layer.size, 0);
process.stdout.write(
  JSON.stringify({ seconds, layerBytes, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
