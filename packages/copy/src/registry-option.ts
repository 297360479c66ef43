// The registry client of `docker://` endpoints: the caller's, or one shared by every call.
import { RegistryClient } from '@stevedore/transport-registry';

/** The client for `docker://` endpoints. */
export interface RegistryOption {
  /** By default one client shared by every call (stored credentials, keep-alive pools). */
  readonly registry?: RegistryClient;
}

let sharedClient: RegistryClient | undefined;

/** The registry client of `docker://` endpoints when the caller gives none. */
export function registryClientOf(options: RegistryOption): RegistryClient {
  if (options.registry !== undefined) return options.registry;
  sharedClient ??= new RegistryClient();
  return sharedClient;
}
