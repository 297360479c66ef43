export { defaultBlobSink } from '#default-blob-sink';
export {
  imageAnnotations,
  imageBlobs,
  imageDigest,
  imageFormat,
  imageLayers,
  readBlob,
} from './accessors.ts';
export { type AssembleImageOptions, assembleImage, type Layer } from './assemble-image.ts';
export { type AssembleIndexOptions, assembleIndex } from './assemble-index.ts';
export type { BlobSink, BlobWriter } from './blob-sink.ts';
export {
  type BlobOrigin,
  type BlobSource,
  combineBlobSources,
  emptyBlobSource,
  memoryBlobSource,
  type OpenBlobOptions,
} from './blob-source.ts';
export { type CreatedLayer, type CreateLayerOptions, createLayer } from './create-layer.ts';
export { ImageError, type ImageErrorCode, type ImageErrorDetails } from './errors.ts';
export type { Artifact, Image, ImageFormat, ImageNode, Index } from './image.ts';
export { layerMediaType } from './layer-media-type.ts';
export { type LoadImageNodeOptions, loadImageNode } from './load-image-node.ts';
export { memoryBlobSink } from './memory-blob-sink.ts';
export { type BlobProgress, countProgress } from './progress.ts';
export { openVerifiedBlob, type ReadBlobBytesOptions, readBlobBytes } from './read-blob.ts';
export { type ReadLayerTarOptions, readLayerTar } from './read-layer-tar.ts';
export { type ReassembleImageOptions, reassembleImage } from './reassemble-image.ts';
export { runBounded } from './run-bounded.ts';
export { isImageConfig, type RuntimeConfig, runtimeConfigOf } from './runtime-config.ts';
export type {
  ImageDestination,
  ImageSource,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  TransportOptions,
} from './transport.ts';
export { type TransferOptions, type WriteImageNodeOptions, writeImageNode } from './write-image-node.ts';
