// Referrers (signatures, SBOMs, attestations: manifests whose `subject` is a copied
// manifest) brought along by `copy(…, { referrers: true })`: found at the source by the
// registry's referrers API (or its tag schema) or by reading an OCI layout's manifests,
// written to the destination by digest and untagged, and their own referrers after them
// (as `oras cp --recursive` and `regctl image copy --referrers` do).
import type { ImageNode, TransferOptions } from '@stevedore/image';
import type { Descriptor } from '@stevedore/manifest';
import { listOciLayoutReferrers, readOciLayout, writeOciLayout } from '@stevedore/transport-oci';
import { parseReference, readRegistry, writeRegistry } from '@stevedore/transport-registry';
import type { Endpoint } from './endpoint.ts';
import { CopyError } from './errors.ts';
import { type RegistryOption, registryClientOf } from './registry-option.ts';

/** An endpoint that can hold referrers: a registry repository or an OCI layout. */
export type ReferrersEndpoint = Extract<Endpoint, { transport: 'docker' | 'oci' }>;

/**
 * The endpoints of a copy that brings referrers, checked before anything is copied.
 * @throws {CopyError} `ERR_REFERRERS_UNSUPPORTED` unless both are `docker://` or `oci:`.
 */
export function referrersEndpoints(
  source: Endpoint | undefined,
  destination: Endpoint,
): { from: ReferrersEndpoint; to: ReferrersEndpoint } {
  const holds = (endpoint: Endpoint | undefined): endpoint is ReferrersEndpoint =>
    endpoint?.transport === 'docker' || endpoint?.transport === 'oci';
  if (!holds(source) || !holds(destination)) {
    const which = holds(source)
      ? `destination ${destination.transport}:`
      : `source ${source?.transport ?? 'in memory'}`;
    throw new CopyError(
      'ERR_REFERRERS_UNSUPPORTED',
      `referrers: true copies between docker:// and oci: endpoints only; the ${which} holds no referrers`,
    );
  }
  return { from: source, to: destination };
}

/**
 * Copies the referrers of `node` and of every manifest under it from `from` to `to`, each
 * by digest (untagged), then theirs, each once.
 * @returns the digests of the referrers copied, in the order they were written.
 */
export async function copyReferrers(
  from: ReferrersEndpoint,
  to: ReferrersEndpoint,
  node: ImageNode,
  options: TransferOptions & RegistryOption,
): Promise<string[]> {
  const { registry: _registry, ...transfer } = options;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const subjects = manifestsUnder(node);
  const copied: string[] = [];
  const seen = new Set(subjects);
  for (let next = subjects.shift(); next !== undefined; next = subjects.shift()) {
    for (const referrer of await listReferrers(from, next, options)) {
      if (seen.has(referrer.digest)) continue;
      seen.add(referrer.digest);
      const { tag: _tag, ...untagged } = await readByDigest(from, referrer.digest, options);
      await writeByDigest(to, untagged, { ...transfer, ...signal }, options);
      copied.push(referrer.digest);
      subjects.push(...manifestsUnder(untagged));
    }
  }
  return copied;
}

// The digests of a node's manifest and of every manifest an index lists under it.
function manifestsUnder(node: ImageNode): string[] {
  const children = node.kind === 'index' ? node.children.flatMap(manifestsUnder) : [];
  return [node.manifest.digest.toString(), ...children];
}

function repositoryDigest(endpoint: Extract<Endpoint, { transport: 'docker' }>, digest: string) {
  const { registry, repository } = parseReference(endpoint.reference);
  return { registry, repository, digest };
}

async function listReferrers(
  endpoint: ReferrersEndpoint,
  digest: string,
  options: RegistryOption & { signal?: AbortSignal },
): Promise<Descriptor[]> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  return endpoint.transport === 'docker'
    ? registryClientOf(options).listReferrers(repositoryDigest(endpoint, digest), digest, signal)
    : listOciLayoutReferrers(endpoint.path, digest, signal);
}

async function readByDigest(
  endpoint: ReferrersEndpoint,
  digest: string,
  options: RegistryOption & { signal?: AbortSignal },
): Promise<ImageNode> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  return endpoint.transport === 'docker'
    ? readRegistry(repositoryDigest(endpoint, digest), registryClientOf(options), signal)
    : readOciLayout(endpoint.path, { digest, ...signal });
}

async function writeByDigest(
  endpoint: ReferrersEndpoint,
  node: ImageNode,
  transfer: TransferOptions,
  options: RegistryOption,
): Promise<void> {
  if (endpoint.transport === 'oci') return writeOciLayout(endpoint.path, node, transfer);
  const target = repositoryDigest(endpoint, node.manifest.digest.toString());
  return writeRegistry(target, node, registryClientOf(options), transfer);
}
