// The distribution-spec's endpoints ("Endpoints", end-1 … end-13), matched from the end
// of the path: a repository name may itself contain `manifests` or `blobs` components.

/** What a request path under `/v2/` names. */
export type Route =
  | { readonly kind: 'base' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'uploads'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly id: string }
  | { readonly kind: 'referrers'; readonly name: string; readonly digest: string };

const PATTERNS: ReadonlyArray<[RegExp, (match: RegExpExecArray) => Route]> = [
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1] as string })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1] as string, id: m[2] as string })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1] as string, digest: m[2] as string })],
  [
    /^(.+)\/manifests\/([^/]+)$/,
    (m) => ({ kind: 'manifest', name: m[1] as string, reference: m[2] as string }),
  ],
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] as string })],
  [
    /^(.+)\/referrers\/([^/]+)$/,
    (m) => ({ kind: 'referrers', name: m[1] as string, digest: m[2] as string }),
  ],
];

/** The route of a URL path (already percent-decoded), or `undefined` when it is not the registry's. */
export function parseRoute(path: string): Route | undefined {
  if (path === '/v2' || path === '/v2/') return { kind: 'base' };
  if (!path.startsWith('/v2/')) return undefined;
  const rest = path.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [pattern, route] of PATTERNS) {
    const match = pattern.exec(rest);
    if (match !== null) return route(match);
  }
  return undefined;
}
