import { type BlobSink, emptyBlobSource, type Image } from '@stevedore/image';
import { flatten } from './flatten.ts';

/** Options for {@link exportFilesystem}. */
export interface ExportFilesystemOptions {
  readonly signal?: AbortSignal;
}

/**
 * The effective filesystem of an image as one uncompressed tar stream, as `docker export`
 * and `crane export` give it: exactly the tar of the layer {@link flatten} would make
 * (later layers win, whiteouts applied, hardlinks kept), streamed as it is made and never
 * stored. The layers are read twice (a plan, then the copy); nothing is yielded until the
 * plan has checked every entry, so an unsafe layer fails before the first byte. Stopping
 * the iteration early stops the reading.
 *
 * @throws {MutateError} while iterating, as {@link flatten}: `ERR_UNSAFE_PATH`,
 *   `ERR_LAYER_INVALID`; archive and digest errors of bad layers.
 * @example
 * ```ts
 * await writeFile('rootfs.tar', exportFilesystem(image));
 * ```
 */
export async function* exportFilesystem(
  image: Image,
  options: ExportFilesystemOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if ((image as { kind?: unknown } | undefined)?.kind !== 'image') {
    throw new TypeError('exportFilesystem: expected an image (pick one platform of an index first)');
  }
  options.signal?.throwIfAborted();
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  const channel = createChannel();
  // flatten writes its one layer, uncompressed, into this sink: each chunk is handed to
  // the reader of this stream instead of being stored.
  const sink: BlobSink = {
    async create() {
      return {
        write: (chunk) => channel.put(chunk),
        commit: async () => emptyBlobSource,
        abort: async () => undefined,
      };
    },
  };
  const flattened = flatten(image, { compression: 'none', blobSink: sink, signal }).then(
    () => channel.end(),
    (error: unknown) => channel.fail(error),
  );
  try {
    yield* channel.chunks();
  } finally {
    stop.abort();
    channel.fail(stop.signal.reason);
    await flattened;
  }
}

/**
 * A one-chunk hand-off from a writer to a reader: `put` resolves once the reader has
 * asked for the chunk after it, so the writer never runs ahead of the reader and a chunk
 * stays the reader's while it works on it.
 */
function createChannel() {
  let chunk: Uint8Array | undefined;
  let taken: (() => void) | undefined;
  let rejectTaken: ((error: unknown) => void) | undefined;
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  return {
    put(next: Uint8Array): Promise<void> {
      if (failure !== undefined) return Promise.reject(failure.error);
      chunk = next;
      const handed = new Promise<void>((resolve, reject) => {
        taken = resolve;
        rejectTaken = reject;
      });
      notify();
      return handed;
    },
    end() {
      ended = true;
      notify();
    },
    fail(error: unknown) {
      failure ??= { error };
      rejectTaken?.(failure.error);
      rejectTaken = undefined;
      taken = undefined;
      notify();
    },
    async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
      for (;;) {
        // The reader is back for more: the writer may go on.
        const done = taken;
        taken = undefined;
        rejectTaken = undefined;
        done?.();
        if (chunk === undefined && failure === undefined && !ended) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (chunk !== undefined) {
          const next = chunk;
          chunk = undefined;
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure.error;
        return;
      }
    },
  };
}
