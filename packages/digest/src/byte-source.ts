/**
 * Bytes as Stevedore's streaming APIs accept them: all at once, a web stream, or any
 * async iterable of chunks (a Node stream is one).
 */
export type ByteSource = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Iterates the chunks of a byte source, checking `signal` between chunks.
 * A chunk that is not a `Uint8Array` is a `TypeError`. Breaking out of the loop
 * cancels the underlying stream.
 */
export async function* iterateBytes(
  source: ByteSource,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  signal?.throwIfAborted();
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  const chunks = isReadableStream(source) ? readChunks(source) : source;
  if (chunks === null || typeof chunks !== 'object' || !(Symbol.asyncIterator in chunks)) {
    throw new TypeError('expected a Uint8Array, a ReadableStream or an AsyncIterable of Uint8Array');
  }
  for await (const chunk of chunks) {
    signal?.throwIfAborted();
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`expected Uint8Array chunks, got ${describe(chunk)}`);
    }
    yield chunk;
  }
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof (value as ReadableStream | null)?.getReader === 'function';
}

// Not every runtime makes ReadableStream async-iterable (Safari does not), so read it.
async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    while (true) {
      const result = await reader.read();
      if (result.done) {
        done = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

/** Joins chunks into one array (the chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

/** Reads a whole byte source into one array. Only for content known to be small. */
export async function collectBytes(source: ByteSource, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of iterateBytes(source, signal)) chunks.push(chunk);
  return concatBytes(chunks);
}
