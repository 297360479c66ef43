// The flags the build and modify verbs share (declared once here, so that help says the
// same thing everywhere) and the one function that reads them. Nothing heavy is imported:
// the verb table loads this file at start-up.
import type { RuntimeConfig } from '@stevedore/image';
import { usageError } from '../errors.ts';
import type { FlagSpec, FlagValues } from '../verb.ts';

/** The runtime-config flags of `build` and `mutate`. */
export const CONFIG_FLAGS = {
  entrypoint: {
    type: 'string',
    value: 'COMMAND',
    description:
      'what the container runs: a JSON array (\'["/app","serve"]\') or words split on spaces (/app serve); "" clears it',
  },
  cmd: {
    type: 'string',
    value: 'ARGUMENTS',
    description:
      'the default arguments, after the entrypoint: a JSON array or words split on spaces (--cmd=-v for one starting with -); "" clears them',
  },
  env: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'set an environment variable, replacing one of the same name (repeatable)',
  },
  label: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'set a label, keeping the others (repeatable)',
  },
  workdir: { type: 'string', value: 'DIR', description: 'the working directory of the container' },
  user: { type: 'string', value: 'USER[:GROUP]', description: 'the user the container runs as (name or id)' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** `--annotation`, for manifests (`build` and `mutate`). */
export const ANNOTATION_FLAG = {
  annotation: {
    type: 'string',
    multiple: true,
    value: 'KEY=VALUE',
    description: 'set a manifest annotation, keeping the others (repeatable; OCI images only)',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** `--compression`, for the layers a verb makes (`build`, `append`, `flatten`). */
export const COMPRESSION_FLAG = {
  compression: {
    type: 'string',
    value: 'gzip|zstd|none',
    description: 'how the new layers are compressed (default gzip; zstd needs the OCI format)',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** The compressions `--compression` takes. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * The config changes the {@link CONFIG_FLAGS} given to `verb` ask for, in the runtime
 * shorthand of `@stevedore/image`; settings not given stay absent. `env` and `labels` keep
 * the order given; a name given twice takes its last value.
 *
 * @throws {CliError} `ERR_USAGE` for an `--entrypoint` or `--cmd` that starts like a JSON
 *   array but is not one of strings, or an `--env` or `--label` without `KEY=`.
 */
export function configChangesOf(flags: FlagValues, verb: string): RuntimeConfig {
  const entrypoint = flags.entrypoint;
  const cmd = flags.cmd;
  const env = flags.env === undefined ? undefined : keyValuesOf(flags.env, 'env', verb);
  const labels = flags.label === undefined ? undefined : keyValuesOf(flags.label, 'label', verb);
  return {
    ...(typeof entrypoint === 'string' ? { entrypoint: commandOf(entrypoint, 'entrypoint', verb) } : {}),
    ...(typeof cmd === 'string' ? { cmd: commandOf(cmd, 'cmd', verb) } : {}),
    ...(env === undefined ? {} : { env }),
    ...(labels === undefined ? {} : { labels }),
    ...(typeof flags.workdir === 'string' ? { workingDir: flags.workdir } : {}),
    ...(typeof flags.user === 'string' ? { user: flags.user } : {}),
  };
}

/** Whether `changes` asks for any change at all. */
export function hasConfigChanges(changes: RuntimeConfig): boolean {
  return Object.keys(changes).length > 0;
}

/**
 * `KEY=VALUE` values of a repeatable flag as a record (the value may be empty or hold
 * `=`; the key may not be empty).
 * @throws {CliError} `ERR_USAGE` naming the flag and the value without a key.
 */
export function keyValuesOf(
  values: FlagValues[string],
  flag: string,
  verb: string,
): Readonly<Record<string, string>> {
  const list = Array.isArray(values) ? values : typeof values === 'string' ? [values] : [];
  const record: Record<string, string> = {};
  for (const value of list) {
    const equals = value.indexOf('=');
    if (equals <= 0) {
      throw usageError(`--${flag} takes KEY=VALUE, got ${JSON.stringify(value)}`, verb);
    }
    const key = value.slice(0, equals);
    // Re-inserted at the end: the order of the command line, the last value winning.
    delete record[key];
    record[key] = value.slice(equals + 1);
  }
  return record;
}

/**
 * `--compression`'s value, or undefined when not given.
 * @throws {CliError} `ERR_USAGE` for another value.
 */
export function compressionOf(flags: FlagValues, verb: string): LayerCompression | undefined {
  const value = flags.compression;
  if (value === undefined) return undefined;
  if (value === 'gzip' || value === 'zstd' || value === 'none') return value;
  throw usageError(`--compression takes gzip, zstd or none, got ${JSON.stringify(value)}`, verb);
}

// A command line as the image config holds it: a JSON array of strings as given, or
// words split on runs of spaces (no quoting: use the JSON form for an argument with spaces).
function commandOf(value: string, flag: string, verb: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
      throw usageError(
        `--${flag} starts with "[" but is not a JSON array of strings: ${JSON.stringify(value)}`,
        verb,
      );
    }
    return parsed;
  }
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}
