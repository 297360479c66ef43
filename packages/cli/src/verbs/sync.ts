// sync FILE: the copies a YAML or JSON file lists, run with @stevedore/copy's sync.
//
// The file:
//   jobs:
//     - source: docker.io/library/alpine        # an endpoint; a bare reference is a registry
//       destination: localhost:5000/alpine
//       tags: { match: '^3\.', newest: 3 }      # or `all`; absent: one image
//       all: true                               # or platforms: [linux/amd64, linux/arm64]
//       referrers: true
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  type CopyOptions,
  type PlatformSelection,
  parseEndpoint,
  type SyncJob,
  type SyncResult,
  type SyncTagFilter,
  sync,
} from '@stevedore/copy';
import { excerpt } from '@stevedore/errors';
import { parsePlatform } from '@stevedore/manifest';
import type { RegistryClient } from '@stevedore/transport-registry';
import { parse as parseYaml } from 'yaml';
import { endpointOf } from '../endpoints.ts';
import { CliError } from '../errors.ts';
import { platformSelectionOf } from '../global-options.ts';
import type { VerbContext } from '../verb.ts';

/** One job as a sync file writes it. */
export interface SyncFileJob {
  /** An endpoint (a bare reference is a registry); with `tags`, a repository. */
  readonly source: string;
  /** An endpoint; with `tags`, a repository. */
  readonly destination: string;
  /** `all`, or `{ match, newest }`: copy each tag of the source repository this selects. */
  readonly tags?: 'all' | { readonly match?: string; readonly newest?: number };
  /** Every platform of an index. */
  readonly all?: boolean;
  /** Some platforms of an index (one: that image alone; several: a filtered index). */
  readonly platforms?: readonly string[];
  /** Bring signatures, SBOMs and attestations along. */
  readonly referrers?: boolean;
}

/** A sync file: `{ jobs: [...] }`. */
export interface SyncFile {
  readonly jobs: readonly SyncFileJob[];
}

const JOB_FIELDS = ['source', 'destination', 'tags', 'all', 'platforms', 'referrers'] as const;

/** `stevedore sync FILE`. */
export async function runSync(context: VerbContext): Promise<void> {
  const file = context.positionals[0] ?? '';
  const parsed = parseSyncFile(await readSyncFile(file), file);
  const defaults = platformSelectionOf(context.global);
  // With --insecure, the hosts the file names are reached over plain HTTP too.
  const registry = await context.registry(parsed.jobs.flatMap((job) => [job.source, job.destination]));
  await runJobs(context, file, parsed, defaults, registry);
}

async function runJobs(
  context: VerbContext,
  file: string,
  parsed: SyncFile,
  defaults: PlatformSelection,
  registry: RegistryClient,
): Promise<void> {
  const progress = context.progress('sync');
  const jobs: SyncJob[] = parsed.jobs.map((job) => {
    const options: Omit<CopyOptions, 'signal'> = {
      ...selectionOf(job, defaults),
      ...(job.referrers === true ? { referrers: true } : {}),
      ...(context.global.concurrency === undefined ? {} : { concurrency: context.global.concurrency }),
      onProgress: progress.onProgress,
      registry,
    };
    return {
      source: endpointOf(job.source),
      destination: endpointOf(job.destination),
      ...(job.tags === undefined ? {} : { tags: job.tags as SyncTagFilter }),
      options,
    };
  });
  let results: SyncResult[];
  try {
    results = await sync(jobs, context.io.signal === undefined ? {} : { signal: context.io.signal });
  } catch (error) {
    // Before anything is copied: a job sync refuses (a repository with a tag, a dir:).
    if (context.io.signal?.aborted === true) throw error;
    throw new CliError('ERR_CLI_INPUT', `${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    progress.done();
  }
  const shown = results.map((result) => ({
    job: jobs.indexOf(result.job),
    ...(result.tag === undefined ? {} : { tag: result.tag }),
    ...(result.source === undefined ? {} : { source: result.source }),
    ...(result.destination === undefined ? {} : { destination: result.destination }),
    ...(result.ok
      ? { ok: true as const, digest: result.digest }
      : { ok: false as const, error: describeError(result.error) }),
  }));
  const lines = shown.map((result) =>
    result.ok
      ? `ok      ${result.source} -> ${result.destination} ${result.digest}`
      : `failed  ${result.source} -> ${result.destination ?? '?'}: ${result.error.code === undefined ? '' : `${result.error.code}: `}${result.error.message}`,
  );
  // A job whose tag filter selected nothing is said so, whatever the other jobs did.
  for (const [index, job] of jobs.entries()) {
    if (!results.some((result) => result.job === job)) {
      context.log(`sync: jobs[${index}] (${job.source}): the tag filter selected nothing to copy`);
    }
  }
  context.print(shown, lines.join('\n'));
  const failed = shown.filter((result) => !result.ok).length;
  if (failed > 0) {
    throw new CliError(
      'ERR_SYNC_FAILED',
      `${failed} of ${shown.length} image${shown.length === 1 ? '' : 's'} failed to copy (see above)`,
    );
  }
}

function selectionOf(job: SyncFileJob, defaults: PlatformSelection): PlatformSelection {
  if (job.all === true) return { all: true };
  if (job.platforms !== undefined && job.platforms.length === 1)
    return { platform: job.platforms[0] as string };
  if (job.platforms !== undefined && job.platforms.length > 1) return { platforms: job.platforms };
  return defaults;
}

function describeError(error: unknown): { code?: string; message: string } {
  const code = (error as { code?: unknown } | undefined)?.code;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    message: error instanceof Error ? error.message : String(error),
  };
}

async function readSyncFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('ERR_CLI_INPUT', `cannot read the sync file ${file}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check the path',
    });
  }
  const json = extname(file).toLowerCase() === '.json';
  try {
    return json ? JSON.parse(text) : parseYaml(text, { prettyErrors: false });
  } catch (error) {
    // One line: the YAML parser's position, not its excerpt of the file.
    const offset = (error as { pos?: readonly number[] }).pos?.[0];
    const before = offset === undefined ? undefined : text.slice(0, offset).split('\n');
    const where =
      before === undefined ? '' : ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
    throw new CliError(
      'ERR_CLI_INPUT',
      `${file} is not valid ${json ? 'JSON' : 'YAML'}${where}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
}

/**
 * Checks a sync file's content (as YAML or JSON parsed it) and gives its jobs.
 * @throws {CliError} `ERR_CLI_INPUT` naming the file and the first bad field (`jobs[1].source`).
 */
export function parseSyncFile(content: unknown, file: string): SyncFile {
  const fail = (where: string, problem: string, cause?: unknown): never => {
    throw new CliError('ERR_CLI_INPUT', `${file}: ${where}: ${problem}`, {
      hint: 'a sync file is { jobs: [{ source, destination, tags?, all?, platforms?, referrers? }] }; see "stevedore sync --help"',
      ...(cause === undefined ? {} : { cause }),
    });
  };
  if (!isRecord(content)) return fail('the file', `expected a mapping with jobs, got ${excerpt(content)}`);
  for (const key of Object.keys(content)) {
    if (key !== 'jobs') fail(key, 'unknown field (a sync file has jobs only)');
  }
  const jobs = content.jobs;
  if (!Array.isArray(jobs)) return fail('jobs', `expected a list of jobs, got ${excerpt(jobs)}`);
  if (jobs.length === 0) fail('jobs', 'expected at least one job');
  return {
    jobs: jobs.map((job: unknown, position): SyncFileJob => {
      const where = `jobs[${position}]`;
      if (!isRecord(job))
        return fail(where, `expected a mapping with source and destination, got ${excerpt(job)}`);
      for (const key of Object.keys(job)) {
        if (!(JOB_FIELDS as readonly string[]).includes(key))
          fail(`${where}.${key}`, `unknown field (expected ${JOB_FIELDS.join(', ')})`);
      }
      const endpoint = (key: 'source' | 'destination'): string => {
        const value = job[key];
        if (typeof value !== 'string' || value === '')
          return fail(
            `${where}.${key}`,
            `expected an endpoint such as "oci:./layout:v1" or "alpine:3.20", got ${excerpt(value)}`,
          );
        try {
          parseEndpoint(endpointOf(value));
        } catch (error) {
          fail(`${where}.${key}`, (error as Error).message, error);
        }
        return value;
      };
      const source = endpoint('source');
      const destination = endpoint('destination');
      const flag = (key: 'all' | 'referrers'): boolean | undefined => {
        const value = job[key];
        if (value !== undefined && typeof value !== 'boolean')
          fail(`${where}.${key}`, `expected true or false, got ${excerpt(value)}`);
        return value as boolean | undefined;
      };
      const all = flag('all');
      const referrers = flag('referrers');
      const platforms = job.platforms;
      if (platforms !== undefined) {
        if (!Array.isArray(platforms) || platforms.length === 0)
          fail(
            `${where}.platforms`,
            `expected a list of platforms such as [linux/amd64], got ${excerpt(platforms)}`,
          );
        for (const [index, platform] of (platforms as unknown[]).entries()) {
          try {
            if (typeof platform !== 'string')
              throw new Error(`expected OS/ARCH[/VARIANT], got ${excerpt(platform)}`);
            parsePlatform(platform);
          } catch (error) {
            fail(`${where}.platforms[${index}]`, (error as Error).message, error);
          }
        }
        if (all === true) fail(where, 'all and platforms exclude each other');
      }
      const tags = job.tags === undefined ? undefined : tagFilterOf(job.tags, `${where}.tags`, fail);
      return {
        source,
        destination,
        ...(tags === undefined ? {} : { tags }),
        ...(all === undefined ? {} : { all }),
        ...(platforms === undefined ? {} : { platforms: platforms as string[] }),
        ...(referrers === undefined ? {} : { referrers }),
      };
    }),
  };
}

function tagFilterOf(
  value: unknown,
  where: string,
  fail: (where: string, problem: string, cause?: unknown) => never,
): NonNullable<SyncFileJob['tags']> {
  if (value === 'all') return 'all';
  if (!isRecord(value) || (value.match === undefined && value.newest === undefined))
    return fail(where, `expected all or { match: REGEX, newest: N }, got ${excerpt(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'match' && key !== 'newest')
      fail(`${where}.${key}`, 'unknown field (expected match, newest)');
  }
  const { match, newest } = value;
  if (match !== undefined) {
    if (typeof match !== 'string')
      fail(`${where}.match`, `expected a regular expression as a string, got ${excerpt(match)}`);
    try {
      new RegExp(match as string);
    } catch (error) {
      fail(
        `${where}.match`,
        `${excerpt(match)} is not a regular expression: ${(error as Error).message}`,
        error,
      );
    }
  }
  if (newest !== undefined && !(typeof newest === 'number' && Number.isSafeInteger(newest) && newest > 0))
    fail(`${where}.newest`, `expected a positive integer, got ${excerpt(newest)}`);
  return {
    ...(match === undefined ? {} : { match: match as string }),
    ...(newest === undefined ? {} : { newest: newest as number }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
