import { deleteFromOciLayout } from '@stevedore/transport-oci';
import { parseReference } from '@stevedore/transport-registry';
import { type Endpoint, formatEndpoint, toEndpoint } from './endpoint.ts';
import { CopyError } from './errors.ts';
import { type RegistryOption, registryClientOf } from './registry-option.ts';

/**
 * Deletes an image from an `oci:` layout's `index.json` (`oci:PATH:TAG` removes the tag;
 * `{ digest }` removes every entry for that manifest) or from a registry (`docker://`: the
 * manifest the tag or digest names, by digest, as distribution requires; every tag on it
 * goes with it). Blobs stay until garbage collection.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID` for other transports (archives and `dir:` are
 *   rewritten by copying, not edited); `ERR_TAG_NOT_FOUND` when nothing matches.
 */
export async function deleteImage(
  endpoint: string | Endpoint,
  options: { digest?: string } & RegistryOption = {},
): Promise<void> {
  const parsed = toEndpoint(endpoint);
  if (parsed.transport === 'docker') {
    const { registry, repository, ...named } = parseReference(parsed.reference);
    const digest = options.digest ?? named.digest;
    await registryClientOf(options).deleteManifest(
      digest === undefined ? { registry, repository, ...named } : { registry, repository, digest },
    );
    return;
  }
  if (parsed.transport !== 'oci') {
    throw new CopyError(
      'ERR_ENDPOINT_INVALID',
      `cannot delete from ${formatEndpoint(parsed)}: only oci: layouts are edited in place`,
      { endpoint: formatEndpoint(parsed) },
    );
  }
  if (parsed.tag === undefined && options.digest === undefined) {
    throw new CopyError('ERR_ENDPOINT_INVALID', `name the image to delete: oci:PATH:TAG, or a digest`, {
      endpoint: formatEndpoint(parsed),
    });
  }
  await deleteFromOciLayout(parsed.path, {
    ...(parsed.tag === undefined ? {} : { tag: parsed.tag }),
    ...(options.digest === undefined ? {} : { digest: options.digest }),
  });
}
