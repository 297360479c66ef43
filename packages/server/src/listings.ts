// Listings (distribution-spec, "Listing Tags", "Listing Referrers", and the catalog API
// distribution offers): sorted lexically, paginated with `n` and `last` and a `Link` header.
import { MediaTypes } from '@stevedore/manifest';
import { type Exchange, type Reply, requestDigest } from './exchange.ts';
import { DistributionError } from './registry-error.ts';

/** GET `/v2/<name>/tags/list`. */
export async function listTags(exchange: Exchange, name: string): Promise<Reply> {
  const { store } = exchange;
  const tags = await store.listTags(name);
  if (tags.length === 0 && !(await holdsAnything(exchange, name))) {
    throw new DistributionError(404, 'NAME_UNKNOWN', `repository ${name} is not known to the registry`, {
      name,
    });
  }
  const page = paginate(exchange, tags, `/v2/${name}/tags/list`);
  return json(200, { name, tags: page.entries }, page.link);
}

/** GET `/v2/_catalog`. */
export async function listCatalog(exchange: Exchange): Promise<Reply> {
  const page = paginate(exchange, await exchange.store.listRepositories(), '/v2/_catalog');
  return json(200, { repositories: page.entries }, page.link);
}

/** GET `/v2/<name>/referrers/<digest>`, with `artifactType` filtering. */
export async function listReferrers(exchange: Exchange, name: string, digestText: string): Promise<Reply> {
  const subject = requestDigest(digestText).toString();
  const artifactType = exchange.query.get('artifactType');
  const all = await exchange.store.listReferrers(name, subject);
  const manifests = artifactType === null ? all : all.filter((entry) => entry.artifactType === artifactType);
  const index = { schemaVersion: 2, mediaType: MediaTypes.OciIndex, manifests };
  const body = JSON.stringify(index);
  return {
    status: 200,
    headers: {
      'content-type': MediaTypes.OciIndex,
      'content-length': Buffer.byteLength(body),
      ...(artifactType === null ? {} : { 'oci-filters-applied': 'artifactType' }),
    },
    body,
  };
}

async function holdsAnything(exchange: Exchange, name: string): Promise<boolean> {
  for await (const _ of exchange.store.listManifests(name)) return true;
  for await (const _ of exchange.store.listBlobLinks(name)) return true;
  return false;
}

// `last` (exclusive) and `n` over a sorted list; the `Link` header names the next page
// while entries remain after this one.
function paginate(
  exchange: Exchange,
  sorted: readonly string[],
  path: string,
): { entries: string[]; link?: string } {
  const { query, limits } = exchange;
  const last = query.get('last');
  const text = query.get('n');
  let n = limits.maxPageSize;
  if (text !== null && text !== '') {
    if (!/^\d+$/.test(text)) {
      throw new DistributionError(400, 'PAGINATION_NUMBER_INVALID', `n=${text} is not a number of entries`, {
        n: text,
      });
    }
    n = Math.min(Number(text), limits.maxPageSize);
  }
  const from = last === null ? 0 : sorted.findIndex((entry) => entry > last);
  const start = from === -1 ? sorted.length : from;
  const entries = sorted.slice(start, start + n);
  const more = start + n < sorted.length && entries.length > 0;
  if (!more) return { entries };
  const next = new URLSearchParams({ n: String(n), last: entries[entries.length - 1] as string });
  return { entries, link: `<${path}?${next}>; rel="next"` };
}

function json(status: number, value: unknown, link: string | undefined): Reply {
  const body = JSON.stringify(value);
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(link === undefined ? {} : { link }),
    },
    body,
  };
}
