export type {
  Access,
  AuthDecision,
  AuthOptions,
  Authorize,
  AuthorizeRequest,
  TokenOptions,
} from './authenticator.ts';
export { type CollectGarbageOptions, collectGarbage, type GarbageReport } from './collect-garbage.ts';
export { ServerError, type ServerErrorCode, type ServerErrorDetails } from './errors.ts';
export type { RegistryLimits } from './exchange.ts';
export { openFilesystemStore } from './filesystem-store.ts';
export {
  createRegistryHandler,
  type RegistryHandler,
  type RegistryHandlerOptions,
  type RequestLogEntry,
} from './handler.ts';
export { createMemoryStore } from './memory-store.ts';
export { type RunningServer, type StartServerOptions, startServer } from './start-server.ts';
export type {
  ByteRange,
  RegistryStore,
  StoredBlob,
  StoredBlobEntry,
  StoredManifest,
  UploadSession,
} from './store.ts';
