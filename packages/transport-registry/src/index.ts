export {
  type Challenge,
  mergeScopes,
  parseChallenges,
  parseScopes,
  type Scope,
} from './challenge.ts';
export {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryEvent,
  type RequestOptions,
  type UploadOptions,
} from './client.ts';
export { type Credentials, type FindCredentialsOptions, findCredentials } from './credentials.ts';
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
