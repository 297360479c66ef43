// Manifests (distribution-spec, "Pulling manifests", "Pushing Manifests", "Deleting
// Manifests"): stored as blobs, linked into their repository with their media type,
// named by tags, and indexed by subject for the referrers API.
import { type ComputableAlgorithm, collectBytes, computeDigest, isDigest } from '@stevedore/digest';
import {
  isNondistributable,
  type Manifest,
  ManifestError,
  manifestReferences,
  manifestSubject,
  parseManifest,
  referrerDescriptor,
} from '@stevedore/manifest';
import { isTag } from '@stevedore/transport-registry';
import { ServerError } from './errors.ts';
import { cut, type Exchange, type Reply, readBody, requestDigest } from './exchange.ts';
import { DistributionError } from './registry-error.ts';

/** A manifest the repository holds, found by tag or digest. */
interface FoundManifest {
  readonly digest: string;
  readonly mediaType: string;
}

async function findManifest(exchange: Exchange, name: string, reference: string): Promise<FoundManifest> {
  const unknown = () =>
    new DistributionError(
      404,
      'MANIFEST_UNKNOWN',
      `manifest ${cut(reference)} is unknown to repository ${name}`,
      {
        name,
        reference: cut(reference),
      },
    );
  const digest = isDigest(reference) ? requestDigest(reference).toString() : undefined;
  if (digest === undefined && !isTag(reference)) throw unknown();
  const resolved = digest ?? (await exchange.store.getTag(name, reference));
  if (resolved === undefined) throw unknown();
  const mediaType = await exchange.store.manifestMediaType(name, resolved);
  if (mediaType === undefined) throw unknown();
  return { digest: resolved, mediaType };
}

/** GET and HEAD of a manifest by tag or digest. */
export async function getManifest(exchange: Exchange, name: string, reference: string): Promise<Reply> {
  const { digest, mediaType } = await findManifest(exchange, name, reference);
  const etag = `"${digest}"`;
  const missing = () =>
    new DistributionError(404, 'MANIFEST_UNKNOWN', `manifest ${digest} is missing its content`);
  let size: number;
  let body: Uint8Array | undefined;
  if (exchange.method === 'HEAD') {
    size = (await exchange.store.blobInfo(digest))?.size ?? Number.NaN;
    if (Number.isNaN(size)) throw missing();
  } else {
    body = await collectBytes(exchange.store.readBlob(digest)).catch((error: unknown) => {
      throw ServerError.is(error, 'ERR_STORE_NOT_FOUND') ? missing() : error;
    });
    size = body.byteLength;
  }
  const headers = {
    'content-type': mediaType,
    'docker-content-digest': digest,
    etag,
    'content-length': size,
  };
  if (exchange.request.headers['if-none-match'] === etag) return { status: 304, headers };
  return { status: 200, headers, ...(body === undefined ? {} : { body }) };
}

/** PUT of a manifest: checked, stored, linked, indexed by subject, tagged. */
export async function putManifest(exchange: Exchange, name: string, reference: string): Promise<Reply> {
  const asDigest = isDigest(reference) ? requestDigest(reference) : undefined;
  if (asDigest === undefined && !isTag(reference)) {
    throw new DistributionError(400, 'MANIFEST_INVALID', `${cut(reference)} is neither a tag nor a digest`, {
      reference: cut(reference),
    });
  }
  const raw = await readBody(exchange, exchange.limits.maxManifestSize);
  const contentType = exchange.request.headers['content-type'];
  let manifest: Manifest;
  try {
    manifest = await parseManifest(raw, contentType);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new DistributionError(400, 'MANIFEST_INVALID', error.message, { path: error.path });
  }
  if (manifest.format === 'schema1') {
    throw new DistributionError(
      400,
      'MANIFEST_INVALID',
      'Docker schema 1 manifests are not accepted; push schema 2 or OCI',
    );
  }
  const digest =
    asDigest === undefined
      ? manifest.digest
      : await computeDigest(raw, asDigest.algorithm as ComputableAlgorithm);
  if (asDigest !== undefined && !digest.equals(asDigest)) {
    throw new DistributionError(
      400,
      'DIGEST_INVALID',
      `the manifest's digest is ${digest}, not ${asDigest}`,
      {
        expected: asDigest.toString(),
        actual: digest.toString(),
      },
    );
  }
  await checkReferences(exchange, name, manifest);

  const { store } = exchange;
  const text = digest.toString();
  await store.putBlob(text, raw);
  await store.linkManifest(name, text, manifest.mediaType);
  const subject = manifestSubject(manifest);
  if (subject !== undefined) {
    await store.addReferrer(name, subject.digest, { ...referrerDescriptor(manifest), digest: text });
  }
  if (asDigest === undefined) await store.setTag(name, reference, text);
  return {
    status: 201,
    headers: {
      location: `/v2/${name}/manifests/${text}`,
      'docker-content-digest': text,
      ...(subject === undefined ? {} : { 'oci-subject': subject.digest }),
    },
  };
}

// Every blob an image manifest names (config, layers) and every manifest an index names
// must already be in the repository, except non-distributable layers.
async function checkReferences(exchange: Exchange, name: string, manifest: Manifest): Promise<void> {
  const { store } = exchange;
  const missing: string[] = [];
  for (const { digest, mediaType } of manifestReferences(manifest)) {
    const held =
      manifest.kind === 'index'
        ? (await store.manifestMediaType(name, digest)) !== undefined
        : isNondistributable(mediaType) || (await store.hasBlobLink(name, digest));
    if (!held) missing.push(digest);
  }
  if (missing.length > 0) {
    throw new DistributionError(
      400,
      'MANIFEST_BLOB_UNKNOWN',
      `the manifest refers to ${missing.length === 1 ? 'a blob' : `${missing.length} blobs`} unknown to repository ${name}: ${missing[0]}`,
      { missing },
    );
  }
}

/** DELETE of a manifest: by tag, the tag; by digest, the manifest, its tags and its referrer entry. */
export async function deleteManifest(exchange: Exchange, name: string, reference: string): Promise<Reply> {
  const { store } = exchange;
  const found = await findManifest(exchange, name, reference);
  if (!isDigest(reference)) {
    await store.deleteTag(name, reference);
    return { status: 202 };
  }
  for (const tag of await store.listTags(name)) {
    if ((await store.getTag(name, tag)) === found.digest) await store.deleteTag(name, tag);
  }
  const subject = await subjectOf(exchange, found);
  // The referrer entry first: a crash in between leaves an unlisted manifest, never a
  // listed referrer that cannot be fetched.
  if (subject !== undefined) await store.removeReferrer(name, subject, found.digest);
  await store.unlinkManifest(name, found.digest);
  return { status: 202 };
}

async function subjectOf(exchange: Exchange, found: FoundManifest): Promise<string | undefined> {
  try {
    const raw = await collectBytes(exchange.store.readBlob(found.digest));
    return manifestSubject(await parseManifest(raw, found.mediaType))?.digest;
  } catch {
    return undefined; // not a manifest we can read: it was never indexed as a referrer
  }
}
