import { excerpt } from '@stevedore/errors';
import { parseReference } from '@stevedore/transport-registry';
import { CopyError } from './errors.ts';

/** Where an image is read or written: a transport and what names the image there. */
export type Endpoint =
  | { readonly transport: 'oci'; readonly path: string; readonly tag?: string }
  | { readonly transport: 'oci-archive'; readonly path: string; readonly tag?: string }
  | {
      readonly transport: 'docker-archive';
      readonly path: string;
      readonly tag?: string;
      readonly index?: number;
    }
  | { readonly transport: 'dir'; readonly path: string }
  | { readonly transport: 'static'; readonly path: string; readonly name: string; readonly tag?: string }
  /** A registry: `reference` as docker writes it (`alpine:3.19`, `localhost:5000/app@sha256:…`). */
  | { readonly transport: 'docker'; readonly reference: string };

/** The transports an endpoint string may start with. */
export const TRANSPORTS = ['docker', 'oci', 'oci-archive', 'docker-archive', 'dir', 'static'] as const;

const FORMS = [
  'docker://REFERENCE',
  'oci:PATH[:TAG]',
  'oci-archive:PATH[:TAG]',
  'docker-archive:PATH[:NAME:TAG|:@INDEX]',
  'dir:PATH',
  'static:PATH:NAME[:TAG]',
].join(', ');

function invalid(text: string, reason: string, cause?: unknown): CopyError {
  return new CopyError(
    'ERR_ENDPOINT_INVALID',
    `invalid endpoint ${excerpt(text)}: ${reason}; accepted forms: ${FORMS}`,
    { endpoint: text, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Parses a transport-prefixed endpoint as skopeo writes them: `oci:./layout:v1`,
 * `oci-archive:img.tar:v1`, `docker-archive:img.tar:app:v1` or `docker-archive:img.tar:@0`,
 * `dir:./dir`, `static:./site:team/app:v1`, `docker://ghcr.io/team/app:v1`. The path ends
 * at the first `:` after it, as in skopeo.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID` naming the accepted forms.
 */
export function parseEndpoint(text: string): Endpoint {
  if (typeof text !== 'string') throw new TypeError(`parseEndpoint: expected a string, got ${typeof text}`);
  const colon = text.indexOf(':');
  if (colon < 0) throw invalid(text, 'no transport prefix');
  const transport = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  const split = rest.indexOf(':');
  const path = split < 0 ? rest : rest.slice(0, split);
  const reference = split < 0 ? undefined : rest.slice(split + 1);
  if (path === '') throw invalid(text, 'no path');
  const tag = reference === undefined || reference === '' ? {} : { tag: reference };
  switch (transport) {
    case 'oci':
    case 'oci-archive':
      return { transport, path, ...tag };
    case 'docker-archive':
      if (reference?.startsWith('@')) {
        const index = Number(reference.slice(1));
        if (!Number.isSafeInteger(index) || index < 0)
          throw invalid(text, '@INDEX must be a non-negative integer');
        return { transport, path, index };
      }
      return { transport, path, ...tag };
    case 'dir':
      if (reference !== undefined) throw invalid(text, 'dir: takes a path only');
      return { transport, path };
    case 'static': {
      if (reference === undefined || reference === '') throw invalid(text, 'static: needs a repository name');
      const [name = '', staticTag] = reference.split(':');
      return { transport, path, name, ...(staticTag === undefined ? {} : { tag: staticTag }) };
    }
    case 'docker': {
      if (!rest.startsWith('//')) throw invalid(text, 'a registry endpoint starts with docker://');
      const given = rest.slice(2);
      try {
        parseReference(given);
      } catch (error) {
        throw invalid(text, (error as Error).message, error);
      }
      return { transport, reference: given };
    }
    default:
      throw invalid(text, `unknown transport ${excerpt(transport)}`);
  }
}

/**
 * An endpoint given as a string (parsed) or as an object (taken as it is).
 * @throws {CopyError} `ERR_ENDPOINT_INVALID` for a bad string or anything else.
 */
export function toEndpoint(value: string | Endpoint): Endpoint {
  if (typeof value === 'string') return parseEndpoint(value);
  if (typeof value === 'object' && value !== null && TRANSPORTS.includes(value.transport)) return value;
  throw new CopyError(
    'ERR_ENDPOINT_INVALID',
    `an endpoint must be a string such as "oci:./layout:v1" or an object whose transport is one of ${TRANSPORTS.join(', ')}`,
    {},
  );
}

/** Formats an endpoint as the string {@link parseEndpoint} reads. */
export function formatEndpoint(endpoint: Endpoint): string {
  switch (endpoint.transport) {
    case 'docker':
      return `docker://${endpoint.reference}`;
    case 'dir':
      return `dir:${endpoint.path}`;
    case 'static':
      return `static:${endpoint.path}:${endpoint.name}${endpoint.tag === undefined ? '' : `:${endpoint.tag}`}`;
    case 'docker-archive':
      if (endpoint.index !== undefined) return `docker-archive:${endpoint.path}:@${endpoint.index}`;
      return `docker-archive:${endpoint.path}${endpoint.tag === undefined ? '' : `:${endpoint.tag}`}`;
    default:
      return `${endpoint.transport}:${endpoint.path}${endpoint.tag === undefined ? '' : `:${endpoint.tag}`}`;
  }
}
