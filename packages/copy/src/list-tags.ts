import {
  listDockerArchiveTags,
  listOciArchiveTags,
  listOciLayoutTags,
  listStaticTags,
} from '@stevedore/transport-oci';
import { type Endpoint, toEndpoint } from './endpoint.ts';
import { CopyError } from './errors.ts';
import { type RegistryOption, registryClientOf } from './registry-option.ts';

/**
 * The tags an endpoint's store holds: a layout's or archive's `index.json` names, a
 * docker-archive's RepoTags, a static repository's `tags/list`, a registry repository's
 * tags (every page). A tag in the endpoint is
 * ignored. `dir:` holds one untagged image.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID`, also for `dir:`; the transports' errors.
 * @example
 * ```ts
 * await listTags('oci:./layout'); // ['latest', 'v1']
 * ```
 */
export async function listTags(endpoint: string | Endpoint, options: RegistryOption = {}): Promise<string[]> {
  const parsed = toEndpoint(endpoint);
  switch (parsed.transport) {
    case 'docker':
      return registryClientOf(options).listTags(parsed.reference);
    case 'oci':
      return listOciLayoutTags(parsed.path);
    case 'oci-archive':
      return listOciArchiveTags(parsed.path);
    case 'docker-archive':
      return listDockerArchiveTags(parsed.path);
    case 'static':
      return listStaticTags(parsed.path, parsed.name);
    case 'dir':
      throw new CopyError(
        'ERR_ENDPOINT_INVALID',
        `dir: holds one untagged image; there are no tags to list`,
        {
          endpoint: `dir:${parsed.path}`,
        },
      );
  }
}
