// Where a verb's bytes go (a tar, a blob): a file, written whole or not at all, or stdout.
import { dirname } from 'node:path';
import { createAtomicFileWriter } from '@stevedore/image/node';
import type { CliOutput } from './cli-io.ts';

/**
 * Writes `chunks` to `path` through @stevedore/image's atomic file writer (a temporary
 * file beside it, synced and renamed into place: a failure leaves nothing at `path`), or
 * to `stdout` when `path` is undefined. Resolves to the bytes written.
 */
export async function writeOutput(
  chunks: AsyncIterable<Uint8Array>,
  path: string | undefined,
  stdout: CliOutput,
): Promise<number> {
  let size = 0;
  if (path === undefined) {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      await stdout.writeBytes(chunk);
    }
    return size;
  }
  const file = await createAtomicFileWriter({ temporaryDirectory: dirname(path) });
  try {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      await file.write(chunk);
    }
  } catch (error) {
    await file.abort();
    throw error;
  }
  await file.commit(path);
  return size;
}
