import type { TarEntryInput } from '@stevedore/archive';
import type { BuildEventHandler } from './build-event.ts';

/** Options for reading layer inputs from the filesystem. */
export interface PathInputOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: BuildEventHandler;
  /** Keep files' uid, gid (and names) instead of 0 and ''. */
  readonly preserveOwnership?: boolean;
}

/** A path resolved to layer content: a directory's entries, or a tar file's bytes. */
export type PathInput =
  | { readonly kind: 'entries'; readonly entries: AsyncIterable<TarEntryInput> }
  | { readonly kind: 'tar'; readonly bytes: AsyncIterable<Uint8Array> };

/**
 * What a build needs from a filesystem; each runtime branch of `#filesystem` provides it.
 * @internal
 */
export interface Filesystem {
  /** A directory's tree as tar entries, or a tar file's bytes. */
  readPathInput(path: string, options: PathInputOptions): Promise<PathInput>;
  /** A directory's tree as tar entries (the path must be a directory). */
  directoryEntries(path: string, options: PathInputOptions): Promise<AsyncIterable<TarEntryInput>>;
}
