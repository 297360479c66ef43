// The flags every verb takes.
import type { PlatformSelection } from '@stevedore/copy';
import { formatPlatform, hostPlatform } from '@stevedore/manifest';
import { usageError } from './errors.ts';
import type { FlagSpec, FlagValues } from './verb.ts';

/** The global flags, as parsed. */
export interface GlobalOptions {
  /** `--platform`, repeatable: the platforms of an index to act on. */
  readonly platforms: readonly string[];
  /** `--all`: every platform of an index. */
  readonly all: boolean;
  /** `--insecure`: the registries named on the command line are reached over plain HTTP. */
  readonly insecure: boolean;
  /** `--json`: machine-readable output. */
  readonly json: boolean;
  /** `--quiet`: nothing but the result. */
  readonly quiet: boolean;
  /** `--verbose`: requests, retries, timings, and the stack of an error. */
  readonly verbose: boolean;
  /** `--concurrency`: blobs moved at a time. */
  readonly concurrency: number | undefined;
}

/** The global flags' specs (help lists them once, after a verb's own). */
export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  platform: {
    type: 'string',
    multiple: true,
    value: 'OS/ARCH[/VARIANT]',
    description: "a platform of an index to act on (repeatable; default: the host's)",
  },
  all: { type: 'boolean', description: 'every platform of an index' },
  insecure: {
    type: 'boolean',
    description: 'reach the registries named on the command line over plain HTTP',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  quiet: { type: 'boolean', short: 'q', description: 'print nothing but the result' },
  verbose: {
    type: 'boolean',
    short: 'v',
    description: 'print requests, retries and timings, and the stack of an error',
  },
  concurrency: { type: 'string', value: 'N', description: 'blobs moved at a time (default 4)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** The global options out of parsed flag values. */
export function globalOptionsOf(values: FlagValues): GlobalOptions {
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) {
    throw usageError(`--concurrency takes a positive integer, got ${JSON.stringify(values.concurrency)}`);
  }
  return {
    platforms: (values.platform as string[] | undefined) ?? [],
    all: values.all === true,
    insecure: values.insecure === true,
    json: values.json === true,
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    concurrency,
  };
}

/** The platform selection of `copy` and friends from `--platform` and `--all`. */
export function platformSelectionOf(global: GlobalOptions): PlatformSelection {
  if (global.all && global.platforms.length > 0) throw usageError('--all and --platform exclude each other');
  if (global.all) return { all: true };
  if (global.platforms.length === 1) return { platform: global.platforms[0] as string };
  if (global.platforms.length > 1) return { platforms: global.platforms };
  return {};
}

/**
 * The one platform `--platform` names (or none, for the host's), for a verb that works on
 * one image: `--all` or several `--platform` are a usage error.
 */
export function onePlatformOf(global: GlobalOptions, verb: string): string | undefined {
  if (global.all || global.platforms.length > 1) {
    throw usageError(`${verb} works on one platform: give at most one --platform`, verb);
  }
  return global.platforms[0];
}

/** The images of an index a change applies to: `--all` every one, `--platform` those named, else the host's. */
export function platformsOf(global: GlobalOptions): string[] | 'all' {
  const selection = platformSelectionOf(global);
  if (selection.all === true) return 'all';
  return global.platforms.length > 0 ? [...global.platforms] : [formatPlatform(hostPlatform())];
}
