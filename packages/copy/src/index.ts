export {
  type CopyDestination,
  type CopyOptions,
  type CopyResult,
  type CopySource,
  copy,
  type PlatformSelection,
  type ReadImageOptions,
  type ReadSourceOptions,
  readImage,
  readSource,
  selectPlatforms,
  writeEndpoint,
} from './copy.ts';
export { deleteImage } from './delete-image.ts';
export { type Endpoint, formatEndpoint, parseEndpoint, TRANSPORTS } from './endpoint.ts';
export { CopyError, type CopyErrorCode } from './errors.ts';
export { type Inspection, type InspectOptions, inspect } from './inspect.ts';
export { listTags } from './list-tags.ts';
export type { RegistryOption } from './registry-option.ts';
export { type SyncJob, type SyncOptions, type SyncResult, type SyncTagFilter, sync } from './sync.ts';
