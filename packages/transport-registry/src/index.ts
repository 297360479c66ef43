export {
  type Challenge,
  mergeScopes,
  parseChallenges,
  parseScopes,
  type Scope,
} from './challenge.ts';
export {
  type LoginResult,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryEvent,
  type RegistryResponseEvent,
  type RegistryRetryEvent,
  type RegistryToken,
  type RequestOptions,
  type UploadOptions,
} from './client.ts';
export {
  type Credentials,
  CredentialsError,
  type CredentialsErrorCode,
  type CredentialsLocation,
  credentialsScopeOf,
  type FindCredentialsOptions,
  findCredentials,
  type RemoveCredentialsOptions,
  type RemovedCredentials,
  removeCredentials,
  type StoreCredentialsOptions,
  storeCredentials,
} from './credentials.ts';
export {
  type ReferencePart,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorDetails,
} from './errors.ts';
export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  type FormatReferenceOptions,
  formatReference,
  isRepositoryName,
  isTag,
  parseReference,
  type Reference,
  registryApiHost,
} from './reference.ts';
export {
  openRegistryDestination,
  type ReadRegistryOptions,
  readRegistry,
  registryTag,
  writeRegistry,
} from './registry-transport.ts';
