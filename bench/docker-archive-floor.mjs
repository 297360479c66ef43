// The least a Node process can do for a copy to `docker-archive:` of one gzip layer, with
// none of our modules: `gunzip` inflates the blob and drops the output; `copy` also reads
// the blob into two reused buffers, hashes it, hashes the tar and writes it through a
// reused buffer, as the copy must. Prints { seconds, peakRssMiB } (start-up left out).
// Plain JavaScript: Node's type stripping would add about 10 MiB to the RSS measured.
// Usage: node bench/docker-archive-floor.mjs gunzip|copy BLOB [OUTPUT]
//        (BLOB: the `single` layer of bench/.data/copy/layout, for docs/PERFORMANCE.md)
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

const [mode, blob, output = '/dev/null'] = process.argv.slice(2);
const MiB = 1024 * 1024;
const start = process.hrtime.bigint();
const input = await open(blob, 'r');
const out = mode === 'copy' ? await open(output, 'w') : undefined;
const blobHash = createHash('sha256');
const tarHash = createHash('sha256');
const gunzip = createGunzip({ chunkSize: MiB });
const feed = (async () => {
  const buffers = [new Uint8Array(MiB), new Uint8Array(MiB)];
  for (let index = 0, position = 0; ; index++) {
    const buffer = buffers[index % 2];
    const { bytesRead } = await input.read(buffer, 0, MiB, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const chunk = buffer.subarray(0, bytesRead);
    if (out !== undefined) blobHash.update(chunk);
    await new Promise((resolve, reject) =>
      gunzip.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
  }
  gunzip.end();
})();
const written = new Uint8Array(MiB);
let bytes = 0;
for await (const chunk of gunzip) {
  if (out !== undefined) {
    tarHash.update(chunk);
    for (let offset = 0; offset < chunk.length; offset += MiB) {
      const piece = chunk.subarray(offset, offset + MiB);
      written.set(piece);
      await out.write(written, 0, piece.length, bytes + offset);
    }
  }
  bytes += chunk.length;
}
await feed;
await out?.datasync();
await out?.close();
await input.close();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(
  JSON.stringify({ mode, seconds, bytes, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
