export { type DirOptions, dirBlobSource, openDirDestination, readDir, writeDir } from './dir.ts';
export {
  listDockerArchiveTags,
  type ReadDockerArchiveOptions,
  readDockerArchive,
} from './docker-archive.ts';
export { type WriteDockerArchiveOptions, writeDockerArchive } from './docker-archive-write.ts';
export { TransportError, type TransportErrorCode, type TransportErrorDetails } from './errors.ts';
export {
  listOciArchiveTags,
  openOciArchiveDestination,
  readOciArchive,
  writeOciArchive,
} from './oci-archive.ts';
export {
  blobPath,
  checkRefName,
  layoutBlobSource,
  OCI_LAYOUT_VERSION,
  REF_NAME_ANNOTATION,
  readLayoutIndex,
} from './oci-layout.ts';
export {
  ensureOciLayout,
  openOciLayoutBlobSink,
  openOciLayoutDestination,
} from './oci-layout-destination.ts';
export {
  type CollectOciLayoutGarbageOptions,
  collectOciLayoutGarbage,
  type OciLayoutGarbage,
  type RemovedBlob,
} from './oci-layout-gc.ts';
export {
  deleteFromOciLayout,
  listOciLayoutReferrers,
  listOciLayoutTags,
  type ReadOciLayoutOptions,
  readOciLayout,
  type WriteOciLayoutOptions,
  writeOciLayout,
} from './oci-layout-io.ts';
export {
  listStaticTags,
  openStaticDestination,
  readStatic,
  STATIC_CONTENT_TYPES,
  STATIC_NGINX_CONF,
  type StaticOptions,
  writeStatic,
} from './static.ts';
