// Sending a file's bytes as a response body, the way sendfile would if Node had it for
// sockets: reads straight into a few reused buffers, the next read in flight while the
// last chunks are written. Fresh buffers per chunk (what a read stream gives) cost a third
// of the throughput in allocation and page faults (docs/PERFORMANCE.md, server).
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** A byte range of an open file to send; the sender closes the file. */
export interface FileBody {
  readonly file: FileHandle;
  readonly start: number;
  readonly length: number;
}

/** Whether a reply body is a {@link FileBody}. */
export function isFileBody(body: unknown): body is FileBody {
  return typeof body === 'object' && body !== null && 'file' in body;
}

/** Reused read buffers, shared by the responses of one handler. */
export class BufferPool {
  static readonly BUFFER_SIZE = 512 * 1024;
  // 64 × 512 KiB: what stays allocated after a burst of downloads.
  static readonly KEEP = 64;
  readonly #free: Buffer[] = [];

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(BufferPool.BUFFER_SIZE);
  }

  give(buffer: Buffer): void {
    if (this.#free.length < BufferPool.KEEP) this.#free.push(buffer);
  }
}

// Buffers one response holds at most: one being read, two being written.
const HELD = 3;

/**
 * Writes `body` to `response` and ends it; resolves when the last chunk is handed to the
 * socket (or the client went away). A buffer goes back to the pool only once the socket
 * has written it. Rejects if the file ends early (the response is then destroyed by the
 * caller: its headers promised more).
 */
export async function sendFile(response: ServerResponse, body: FileBody, pool: BufferPool): Promise<void> {
  const { file, start } = body;
  const end = start + body.length;
  let held = 0;
  let wake: (() => void) | undefined;
  const release = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  response.once('close', release);
  const read = async (position: number) => {
    while (held >= HELD && !response.destroyed) await new Promise<void>((resolve) => (wake = resolve));
    held += 1;
    const buffer = pool.take();
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new Error(`the file ended at ${position} bytes, before ${end}`);
    return { buffer, bytesRead };
  };
  try {
    let position = start;
    let next = position < end ? read(position) : undefined;
    while (next !== undefined) {
      const { buffer, bytesRead } = await next;
      position += bytesRead;
      next = position < end && !response.destroyed ? read(position) : undefined;
      if (response.destroyed) {
        pool.give(buffer);
        break;
      }
      response.write(buffer.subarray(0, bytesRead), () => {
        held -= 1;
        pool.give(buffer);
        release();
      });
    }
    if (!response.destroyed) response.end();
  } finally {
    response.off('close', release);
    await file.close();
  }
}
