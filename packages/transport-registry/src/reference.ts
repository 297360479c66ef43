// Image references by the grammar of distribution's `reference` package (the one docker,
// skopeo and crane share): `[registry/]repository[:tag][@digest]`, with Docker Hub's
// normalization (`alpine` is `docker.io/library/alpine`).
import { isComputableAlgorithm, parseDigest } from '@stevedore/digest';
import { excerpt } from '@stevedore/errors';
import { type ReferencePart, RegistryError } from './errors.ts';

/** A parsed, normalized image reference. */
export interface Reference {
  /** The registry: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** The repository within it: `library/alpine`, `team/app`. */
  readonly repository: string;
  /** The tag, when given. */
  readonly tag?: string;
  /** The manifest digest, when given (it wins over the tag for what is fetched). */
  readonly digest?: string;
}

/** Docker Hub's registry name in normalized references. */
export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's API answers on. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

// The distribution grammar (reference/regexp.go).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** The longest `registry/repository` distribution accepts. */
const MAX_NAME_LENGTH = 255;

/**
 * Parses an image reference as docker and skopeo do: an optional registry (a host with a
 * `.` or a port, `localhost`, or an IPv6 address in brackets, before the first `/`), the
 * repository's path components (lowercase), a tag, a digest, or both. References without
 * a registry are Docker Hub's, and Docker Hub repositories without a `/` are under
 * `library/`; `index.docker.io` is `docker.io`.
 *
 * @throws {RegistryError} `ERR_REFERENCE_INVALID` with `part` naming what is wrong.
 * @example
 * ```ts
 * parseReference('alpine:3.19');
 * // { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }
 * parseReference('localhost:5000/team/app@sha256:…');
 * ```
 */
export function parseReference(text: string): Reference {
  if (typeof text !== 'string') throw new TypeError(`a reference must be a string, got ${typeof text}`);
  const fail = (part: ReferencePart, why: string): never => {
    throw new RegistryError('ERR_REFERENCE_INVALID', `invalid reference ${excerpt(text)}: ${why}`, {
      reference: text,
      part,
    });
  };
  if (text === '') fail('reference', 'it is empty');
  if (/\s/.test(text)) fail('reference', 'it contains white space');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail('digest', `${excerpt(digest)} is not a digest (algorithm:hex)`);
    let algorithm = '';
    try {
      algorithm = parseDigest(digest).algorithm;
    } catch (error) {
      throw new RegistryError(
        'ERR_REFERENCE_INVALID',
        `invalid reference ${excerpt(text)}: ${(error as Error).message}`,
        { reference: text, part: 'digest', cause: error },
      );
    }
    // As distribution does: a digest that cannot be checked names nothing.
    if (!isComputableAlgorithm(algorithm))
      fail('digest', `the digest algorithm ${excerpt(algorithm)} is not sha256 or sha512`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      fail(
        'tag',
        `the tag ${excerpt(tag)} is not 1–128 letters, digits, _, . or - (not starting with . or -)`,
      );
    }
  }
  if (rest === '') fail('repository', 'the repository name is missing');

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    // As distribution decides: a first component with a dot, a port, uppercase, or
    // `localhost` is a registry; otherwise the whole name is a Docker Hub path.
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      path = rest.slice(slash + 1);
      if (!REGISTRY.test(registry)) fail('registry', `${excerpt(registry)} is not a registry host[:port]`);
      if (registry === 'index.docker.io') registry = DOCKER_HUB;
    }
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  for (const component of path.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase()))
      fail('repository', 'repository names must be lowercase');
    fail(
      'repository',
      component === ''
        ? 'the repository has an empty path component'
        : `${excerpt(component)} is not a repository path component (lowercase letters and digits, separated by ., _, __ or -)`,
    );
  }
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) {
    fail('repository', `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return {
    registry,
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/**
 * Whether `name` is a repository name by the distribution-spec's grammar: lowercase path
 * components separated by `/`, at most 255 characters (`team/app`, not `Team/app` or `a//b`).
 */
export function isRepositoryName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    name.split('/').every((component) => PATH_COMPONENT.test(component))
  );
}

/** Whether `tag` is a tag by the distribution-spec's grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export function isTag(tag: string): boolean {
  return typeof tag === 'string' && TAG.test(tag);
}

/** Options for {@link formatReference}. */
export interface FormatReferenceOptions {
  /** Docker's short form: no `docker.io/`, no `library/` (`alpine:3.19`). */
  readonly familiar?: boolean;
}

/** A reference as text: `docker.io/library/alpine:3.19`, or `alpine:3.19` when familiar. */
export function formatReference(reference: Reference, options: FormatReferenceOptions = {}): string {
  let name = `${reference.registry}/${reference.repository}`;
  if (options.familiar === true && reference.registry === DOCKER_HUB) {
    const short = reference.repository.replace(/^library\/(?=[^/]+$)/, '');
    // Unless the short form would read as another registry (`my.org/app`, `localhost/app`).
    const first = short.split('/')[0] ?? '';
    if (!short.includes('/') || !(first.includes('.') || first === 'localhost')) name = short;
  }
  const tag = reference.tag === undefined ? '' : `:${reference.tag}`;
  const digest = reference.digest === undefined ? '' : `@${reference.digest}`;
  return `${name}${tag}${digest}`;
}

/** The host to send a registry's API requests to (`registry-1.docker.io` for Docker Hub). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** A reference given as text or parsed. @internal */
export function toReference(value: string | Reference): Reference {
  return typeof value === 'string' ? parseReference(value) : value;
}

/** The repository a reference names, without its tag or digest. @internal */
export function repositoryOf(reference: Reference): Reference {
  return { registry: reference.registry, repository: reference.repository };
}
