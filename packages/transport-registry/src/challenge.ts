// `WWW-Authenticate` challenges (RFC 9110, section 11.6.1) as registries send them, and
// the token scopes of the Docker token protocol
// (https://distribution.github.io/distribution/spec/auth/scope/).

/** One challenge: its scheme, lowercased, and its parameters (names lowercased). */
export interface Challenge {
  /** `basic`, `bearer`, or another scheme. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
// A parameter's name and "=" (not a token68's trailing "=").
const PARAM = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=(?!=)\s*/;
const QUOTED = /^"((?:[^"\\]|\\.)*)"/;
// `Basic dXNlcjpw==`: a token68, alone, before a comma or the end.
const TOKEN68 = /^([A-Za-z0-9\-._~+/]+=*)\s*(?=,|$)/;

/**
 * The challenges of a `WWW-Authenticate` header (or of several, joined by commas):
 * quoted and unquoted parameters, escapes in quoted strings, several challenges in one
 * header. What cannot be read is skipped up to the next comma rather than failing the
 * request: the caller decides what a missing challenge means.
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"');
 * // [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' } }]
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let rest = header;
  while (true) {
    rest = rest.replace(/^[\s,]+/, '');
    if (rest === '') return challenges;
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) {
      rest = rest.replace(/^[^,]*/, ''); // unreadable: skip to the next comma
      continue;
    }
    rest = rest.slice(scheme.length).replace(/^ +/, '');
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });
    const token68 = TOKEN68.exec(rest);
    if (token68 !== null) {
      params.token68 = token68[1] as string;
      rest = rest.slice(token68[0].length);
      continue;
    }
    // name = value pairs, separated by commas, until what follows is not one (the next
    // challenge's scheme, or the end).
    while (true) {
      const param = PARAM.exec(rest);
      if (param === null) break;
      rest = rest.slice(param[0].length);
      let value: string;
      const quoted = QUOTED.exec(rest);
      if (quoted !== null) {
        value = (quoted[1] ?? '').replace(/\\(.)/g, '$1');
        rest = rest.slice(quoted[0].length);
      } else {
        value = /^[^\s,]*/.exec(rest)?.[0] ?? '';
        rest = rest.slice(value.length);
      }
      params[(param[1] as string).toLowerCase()] = value;
      const comma = /^\s*,/.exec(rest);
      if (comma === null) break;
      rest = rest.slice(comma[0].length);
    }
  }
}

/** A resource scope of the token protocol: `repository:team/app:pull,push`. */
export interface Scope {
  /** `repository`, `registry` (for `catalog:*`), or another type. */
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * The scopes of a space-separated `scope` parameter. The name may contain colons (a
 * registry with a port in `repository:localhost:5000/app:pull`): the actions are after
 * the last colon, the type before the first.
 */
export function parseScopes(text: string): Scope[] {
  return text
    .split(' ')
    .filter((part) => part !== '')
    .flatMap((part) => {
      const first = part.indexOf(':');
      const last = part.lastIndexOf(':');
      if (first === -1 || first === last) return [];
      return [
        {
          type: part.slice(0, first),
          name: part.slice(first + 1, last),
          actions: part
            .slice(last + 1)
            .split(',')
            .filter((action) => action !== ''),
        },
      ];
    });
}

/**
 * Scopes merged for one token request: one scope per type and name with the union of
 * their actions (`pull` before `push`, then the others sorted), in the order first seen,
 * as text for the `scope` query parameters.
 *
 * @example
 * ```ts
 * mergeScopes([
 *   { type: 'repository', name: 'dst', actions: ['push'] },
 *   { type: 'repository', name: 'dst', actions: ['pull'] },
 *   { type: 'repository', name: 'src', actions: ['pull'] },
 * ]); // ['repository:dst:pull,push', 'repository:src:pull']
 * ```
 */
export function mergeScopes(scopes: readonly Scope[]): string[] {
  const merged = new Map<string, { type: string; name: string; actions: Set<string> }>();
  for (const scope of scopes) {
    const key = `${scope.type}:${scope.name}`;
    const entry = merged.get(key) ?? { type: scope.type, name: scope.name, actions: new Set<string>() };
    for (const action of scope.actions) entry.actions.add(action);
    merged.set(key, entry);
  }
  const rank = (action: string) => (action === 'pull' ? 0 : action === 'push' ? 1 : 2);
  return [...merged.values()].map(({ type, name, actions }) => {
    const sorted = [...actions].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    return `${type}:${name}:${sorted.join(',')}`;
  });
}
