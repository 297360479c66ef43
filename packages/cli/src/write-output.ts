// Where a verb's bytes go (a tar, a blob): a file, written whole or not at all, or stdout.
import { randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CliOutput } from './cli-io.ts';

/**
 * Writes `chunks` to `path` through a temporary file beside it, renamed into place at the
 * end (a failure leaves nothing at `path`), or to `stdout` when `path` is undefined.
 * Resolves to the bytes written.
 */
export async function writeOutput(
  chunks: AsyncIterable<Uint8Array>,
  path: string | undefined,
  stdout: CliOutput,
): Promise<number> {
  let size = 0;
  async function* counted() {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      yield chunk;
    }
  }
  if (path === undefined) {
    for await (const chunk of counted()) await stdout.writeBytes(chunk);
    return size;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, counted(), { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return size;
}
