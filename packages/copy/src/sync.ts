import { type CopyDestination, type CopyOptions, type CopySource, copy } from './copy.ts';

/** One copy of a sync: a source, a destination and the copy's options. */
export interface SyncJob {
  readonly source: CopySource;
  readonly destination: CopyDestination;
  readonly options?: Omit<CopyOptions, 'signal'>;
}

/** How one job of a sync went. */
export type SyncResult =
  | { readonly job: SyncJob; readonly ok: true; readonly digest: string }
  | { readonly job: SyncJob; readonly ok: false; readonly error: unknown };

/** Options for {@link sync}. */
export interface SyncOptions {
  readonly signal?: AbortSignal;
}

/**
 * Runs a declarative list of copies in order, like `skopeo sync` and regsync: a result
 * per job, and a failing job does not stop the others (an abort does).
 * @example
 * ```ts
 * const results = await sync([
 *   { source: 'oci:./layout:v1', destination: 'dir:./v1' },
 *   { source: 'oci:./layout:multi', destination: 'oci-archive:./multi.tar:multi', options: { all: true } },
 * ]);
 * ```
 */
export async function sync(jobs: readonly SyncJob[], options: SyncOptions = {}): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  for (const job of jobs) {
    options.signal?.throwIfAborted();
    try {
      const { digest } = await copy(job.source, job.destination, {
        ...job.options,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      results.push({ job, ok: true, digest });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      results.push({ job, ok: false, error });
    }
  }
  return results;
}
