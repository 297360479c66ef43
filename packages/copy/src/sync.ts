import { excerpt } from '@stevedore/errors';
import { formatReference, parseReference, type Reference } from '@stevedore/transport-registry';
import { type CopyDestination, type CopyOptions, type CopySource, copy, isImageNode } from './copy.ts';
import { type Endpoint, formatEndpoint, toEndpoint } from './endpoint.ts';
import { CopyError } from './errors.ts';
import { listTags } from './list-tags.ts';
import { compareSemver, parseSemver } from './semver.ts';

/**
 * Which tags of a source repository a sync job copies: `'all'`, or those that `match`
 * and of them the `newest` N by semver precedence.
 */
export type SyncTagFilter =
  | 'all'
  | {
      /**
       * Tags this matches. A string is compiled with `new RegExp(match)` and anchored only
       * as written (as skopeo sync's `tags-regex`): `'^v1\\.'` takes `v1.2.0` and
       * `v1.2.0-rc.1`; `'^v1\\.\\d+\\.\\d+$'` only releases. The `g` and `y` flags are ignored.
       */
      readonly match?: RegExp | string;
      /**
       * Only the N highest by semantic version precedence (semver.org 2.0.0, pre-releases
       * included, an optional leading `v`); tags that are not semantic versions are left out.
       */
      readonly newest?: number;
    };

/**
 * One copy of a sync: a source, a destination and the copy's options. With `tags`, the
 * source names a repository (no tag) and each tag it selects is copied to the destination
 * repository under the same tag.
 */
export interface SyncJob {
  readonly source: CopySource;
  readonly destination: CopyDestination;
  /** Copy the tags of the source repository that this selects, one result per tag. */
  readonly tags?: SyncTagFilter;
  /** Each copy's options; with `tags`, `registry` lists the tags too. */
  readonly options?: Omit<CopyOptions, 'signal'>;
}

interface SyncResultFields {
  readonly job: SyncJob;
  /** The tag copied, for a job with `tags` (absent when its tags could not be listed). */
  readonly tag?: string;
  /**
   * What was read: the job's source as given, or formatted when given as an `Endpoint`;
   * for a job with `tags`, the repository at the tag (a registry reference written in
   * full: `docker://docker.io/library/alpine:3.19`). Absent for an image in memory.
   */
  readonly source?: string;
  /** Where it was written, in the same way (absent only for a destination that is no endpoint). */
  readonly destination?: string;
}

/**
 * How one image of a sync went: a job without `tags` gets one result; a job with `tags`
 * gets one per tag it selects (none when it selects none), or one without `tag` when its
 * tags could not be listed.
 */
export type SyncResult =
  | (SyncResultFields & { readonly ok: true; readonly digest: string })
  | (SyncResultFields & { readonly ok: false; readonly error: unknown });

/** Options for {@link sync}. */
export interface SyncOptions {
  readonly signal?: AbortSignal;
}

/** A job with `tags`, checked: the repositories and how to select from them. */
interface Expansion {
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly select: (tags: readonly string[]) => string[];
}

/**
 * Runs a declarative list of copies in order, like `skopeo sync` and regsync: a result
 * per image, and a failing image does not stop the others (an abort does). A job with
 * `tags` lists the tags of its source repository (`docker://`, `oci:`, `oci-archive:`,
 * `static:`) and copies each one it selects to the same tag of the destination
 * repository (`docker://`, `oci:`, `static:`), in the order the source lists them.
 * Every job with `tags` is checked before anything is copied.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID` before anything is copied, when a job with
 *   `tags` has a source with a tag or digest, or an endpoint that holds one image.
 * @throws {TypeError} for a `tags` that is not `'all'` nor names `match` or `newest`.
 * @throws {RangeError} for a `newest` that is not a positive integer.
 * @throws {SyntaxError} for a `match` string that is not a regular expression.
 * @example
 * ```ts
 * const results = await sync([
 *   { source: 'oci:./layout:v1', destination: 'dir:./v1' },
 *   { source: 'docker://reg.example/app', destination: 'oci:./mirror', tags: { match: /^v1\./, newest: 3 } },
 *   { source: 'docker://reg.example/tools', destination: 'docker://localhost:5000/tools', tags: 'all' },
 * ]);
 * for (const result of results) console.log(result.destination, result.ok ? result.digest : result.error);
 * ```
 */
export async function sync(jobs: readonly SyncJob[], options: SyncOptions = {}): Promise<SyncResult[]> {
  const expansions = jobs.map((job, position) =>
    job.tags === undefined ? undefined : expand(job, `jobs[${position}]`),
  );
  const run = async (
    job: SyncJob,
    source: CopySource,
    destination: CopyDestination,
    tag?: string,
  ): Promise<SyncResult> => {
    options.signal?.throwIfAborted();
    const described = {
      job,
      ...(tag === undefined ? {} : { tag }),
      ...describeEndpoint('source', source),
      ...describeEndpoint('destination', destination),
    };
    try {
      if (tag !== undefined) checkRegistryTag(destination, tag);
      const { digest } = await copy(source, destination, {
        ...job.options,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return { ...described, ok: true, digest };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return { ...described, ok: false, error };
    }
  };
  const results: SyncResult[] = [];
  for (const [position, job] of jobs.entries()) {
    const expansion = expansions[position];
    if (expansion === undefined) {
      results.push(await run(job, job.source, job.destination));
      continue;
    }
    options.signal?.throwIfAborted();
    let tags: string[];
    try {
      const registry = job.options?.registry;
      tags = expansion.select(await listTags(expansion.source, registry === undefined ? {} : { registry }));
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const source = formatEndpoint(expansion.source);
      results.push({ job, ok: false, error, source, destination: formatEndpoint(expansion.destination) });
      continue;
    }
    for (const tag of tags) {
      results.push(await run(job, withTag(expansion.source, tag), withTag(expansion.destination, tag), tag));
    }
  }
  return results;
}

/**
 * The tags a filter selects from those listed, in the order listed (each once).
 * @internal
 * @throws {TypeError} for a filter that is not `'all'` nor names `match` or `newest`.
 * @throws {RangeError} for a `newest` that is not a positive integer.
 * @throws {SyntaxError} for a `match` string that is not a regular expression.
 */
export function selectTags(tags: readonly string[], filter: SyncTagFilter): string[] {
  return tagSelector(filter, 'tags')(tags);
}

function tagSelector(filter: SyncTagFilter, where: string): (tags: readonly string[]) => string[] {
  if (filter === 'all') return (tags) => [...new Set(tags)];
  if (
    typeof filter !== 'object' ||
    filter === null ||
    (filter.match === undefined && filter.newest === undefined)
  )
    throw new TypeError(`${where}: expected 'all' or { match, newest }, got ${excerpt(filter)}`);
  const { newest } = filter;
  if (newest !== undefined && !(Number.isSafeInteger(newest) && newest > 0))
    throw new RangeError(`${where}.newest: expected a positive integer, got ${excerpt(newest)}`);
  const pattern = filter.match === undefined ? undefined : compile(filter.match, `${where}.match`);
  return (tags) => {
    const matching = [...new Set(tags)].filter((tag) => pattern?.test(tag) ?? true);
    if (newest === undefined) return matching;
    const versions = matching.flatMap((tag) => {
      const version = parseSemver(tag);
      return version === undefined ? [] : [{ tag, version }];
    });
    // Highest first; equal precedence (`v1.0.0`, `1.0.0`) by the tag, so the choice is stable.
    versions.sort((a, b) => compareSemver(b.version, a.version) || (a.tag < b.tag ? -1 : 1));
    const kept = new Set(versions.slice(0, newest).map(({ tag }) => tag));
    return matching.filter((tag) => kept.has(tag));
  };
}

// Without `g` or `y`, `test` keeps no `lastIndex` between tags.
function compile(match: RegExp | string, where: string): RegExp {
  if (match instanceof RegExp) return new RegExp(match.source, match.flags.replace(/[gy]/g, ''));
  if (typeof match !== 'string')
    throw new TypeError(`${where}: expected a RegExp or a string, got ${typeof match}`);
  try {
    return new RegExp(match);
  } catch (error) {
    throw new SyntaxError(
      `${where}: ${excerpt(match)} is not a regular expression: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function expand(job: SyncJob, where: string): Expansion {
  const select = tagSelector(job.tags as SyncTagFilter, `${where}.tags`);
  if (isImageNode(job.source)) {
    throw new CopyError(
      'ERR_ENDPOINT_INVALID',
      `${where}: an image in memory has no tags to select; give a repository such as "oci:./layout" or "docker://host/app"`,
    );
  }
  const source = repositoryEndpoint(toEndpoint(job.source), where, 'source');
  const destination = repositoryEndpoint(toEndpoint(job.destination), where, 'destination');
  return { source, destination, select };
}

// The endpoint of a repository: one that names several images by tag, and names no tag
// itself. Written to, an `oci-archive:` or `docker-archive:` is a new file each time
// (only the last tag would stay), so only `oci:`, `static:` and `docker://` take tags.
function repositoryEndpoint(endpoint: Endpoint, where: string, role: 'source' | 'destination'): Endpoint {
  const text = formatEndpoint(endpoint);
  const fail = (problem: string, cause?: unknown): never => {
    throw new CopyError('ERR_ENDPOINT_INVALID', `${where}.${role} ${excerpt(text)}: ${problem}`, {
      endpoint: text,
      ...(cause === undefined ? {} : { cause }),
    });
  };
  const named = (what: string) =>
    role === 'source'
      ? `a job with tags reads the tags it selects from a repository, so its source names no ${what}`
      : `a job with tags writes each tag it selects under the same tag, so its destination names no ${what}`;
  const writtenWhole = (transport: string) =>
    fail(
      `a job with tags cannot write to ${transport}, which each copy writes whole (only the last tag would stay); sync to an oci: layout`,
    );
  const tag = (given: string | undefined) => {
    if (given !== undefined) fail(`${named('tag')} (drop the tag ${excerpt(given)})`);
  };
  switch (endpoint.transport) {
    case 'docker': {
      let reference: Reference;
      try {
        reference = parseReference(endpoint.reference);
      } catch (error) {
        return fail((error as Error).message, error);
      }
      if (reference.digest !== undefined)
        fail(`${named('digest')} (drop the digest ${excerpt(reference.digest)})`);
      tag(reference.tag);
      return endpoint;
    }
    case 'oci':
    case 'static':
      tag(endpoint.tag);
      return endpoint;
    case 'oci-archive':
      if (role === 'destination') writtenWhole('an oci-archive:');
      tag(endpoint.tag);
      return endpoint;
    case 'docker-archive':
      if (role === 'destination') return writtenWhole('a docker-archive:');
      return fail(
        'a job with tags cannot read from a docker-archive:, which names its images by NAME:TAG references, not by the tags of one repository; give each image its own job',
      );
    case 'dir':
      return fail(
        `a job with tags cannot ${role === 'source' ? 'read from' : 'write to'} dir:, which holds one untagged image`,
      );
    default:
      return fail('unknown transport');
  }
}

// The same repository, at a tag.
function withTag(endpoint: Endpoint, tag: string): Endpoint {
  switch (endpoint.transport) {
    case 'docker':
      return { ...endpoint, reference: formatReference({ ...parseReference(endpoint.reference), tag }) };
    case 'oci':
    case 'oci-archive':
    case 'static':
      return { ...endpoint, tag };
    default:
      throw new Error(`unreachable: ${endpoint.transport} holds no tags`);
  }
}

// A tag from an `oci:` layout may be no registry tag (`a/b`, `a:b`): say so, rather than
// let the reference it makes read as another repository.
function checkRegistryTag(destination: CopyDestination, tag: string): void {
  if (typeof destination === 'string' || destination.transport !== 'docker') return;
  let parsed: Reference | undefined;
  try {
    parsed = parseReference(destination.reference);
  } catch {
    parsed = undefined;
  }
  if (parsed?.tag === tag && parsed.digest === undefined) return;
  throw new CopyError(
    'ERR_ENDPOINT_INVALID',
    `the tag ${excerpt(tag)} is not a registry tag (1 to 128 letters, digits, _, . or -, not starting with . or -), so it is not copied to docker://${excerpt(destination.reference)}`,
    { endpoint: formatEndpoint(destination) },
  );
}

// An endpoint as text for a result: a string as given, an endpoint object formatted,
// nothing for an image in memory (or a value that is no endpoint: the copy says so).
function describeEndpoint(
  key: 'source' | 'destination',
  value: CopySource,
): { source?: string } | { destination?: string } {
  if (typeof value === 'string') return { [key]: value };
  if (
    typeof value !== 'object' ||
    value === null ||
    isImageNode(value) ||
    typeof value.transport !== 'string'
  )
    return {};
  return { [key]: formatEndpoint(value) };
}
