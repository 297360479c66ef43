// What the build and modify verbs share once they run: reading an image, choosing the
// platforms of an index, a scratch directory for new layers, and writing the result to
// an endpoint with progress.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy, parseEndpoint, readImage as readImageOf, readSource } from '@stevedore/copy';
import type { Image, ImageNode, Index } from '@stevedore/image';
import { endpointOf } from '../endpoints.ts';
import { CliError, usageError } from '../errors.ts';
import type { VerbContext } from '../verb.ts';

/**
 * The endpoint `--to` names, checked before any work (a typo fails at once, not after a
 * build), or a usage error when `--to` is missing and `fallback` is not given.
 * @throws {CliError} `ERR_USAGE`; {@link CopyError} `ERR_ENDPOINT_INVALID`.
 */
export function destinationOf(context: VerbContext, fallback?: string): string {
  const to = context.flags.to;
  const given = typeof to === 'string' ? to : fallback;
  if (given === undefined) {
    throw usageError(`${context.verb.name} needs --to ENDPOINT: where to write the image`, context.verb.name);
  }
  const endpoint = endpointOf(given);
  parseEndpoint(endpoint);
  return endpoint;
}

/** The image or index an endpoint names, refusing an artifact (a signature, an SBOM…). */
export async function readNode(context: VerbContext, text: string): Promise<Image | Index> {
  const endpoint = endpointOf(text);
  const node = await readSource(endpoint, {
    registry: await context.registry(),
    ...signalOf(context),
  });
  if (node.kind === 'artifact') {
    throw new CliError('ERR_CLI_INPUT', `${text} is an artifact (${node.manifest.mediaType}), not an image`);
  }
  return node;
}

/**
 * The image an endpoint names; of an index, the image of `platform` (default the host's),
 * read as copy reads it (@stevedore/copy's readImage: from a registry, that platform alone).
 * @throws {ManifestError} `ERR_NO_MATCH` naming the platforms the index has; `CopyError`
 *   `ERR_NOT_AN_IMAGE` for an artifact.
 */
export async function readImage(context: VerbContext, text: string, platform?: string): Promise<Image> {
  return readImageOf(endpointOf(text), {
    registry: await context.registry(),
    ...signalOf(context),
    ...(platform === undefined ? {} : { platform }),
  });
}

/**
 * Runs `work` with a fresh directory for the blobs of new layers, and removes it after:
 * the result has been written to its destination by then.
 */
export async function withScratchDirectory<T>(work: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(join(tmpdir(), 'stevedore-cli-'));
  try {
    return await work(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Writes an image or a whole index to `destination` (any endpoint) with progress on
 * stderr, and prints its digest (`{ digest, destination }` with `--json`).
 */
export async function writeResult(context: VerbContext, node: ImageNode, destination: string): Promise<void> {
  const progress = context.progress(context.verb.name);
  const result = await copy(node, destination, {
    // What the verb made is written whole: an index keeps every platform.
    all: true,
    ...(context.global.concurrency === undefined ? {} : { concurrency: context.global.concurrency }),
    ...signalOf(context),
    onProgress: progress.onProgress,
    registry: await context.registry(),
  });
  progress.done();
  context.print({ digest: result.digest, destination }, result.digest);
}

/** `{ signal }` of the run, when it has one. */
export function signalOf(context: VerbContext): { signal?: AbortSignal } {
  return context.io.signal === undefined ? {} : { signal: context.io.signal };
}
