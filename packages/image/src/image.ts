import type { ImageConfig, ParsedImageManifest, ParsedIndex } from '@stevedore/manifest';
import type { BlobSource } from './blob-source.ts';

/** A container image: its manifest (raw bytes kept), its config, and where its blobs are. */
export interface Image {
  readonly kind: 'image';
  readonly manifest: ParsedImageManifest;
  readonly config: ImageConfig;
  /** The config blob's exact bytes; the manifest's config descriptor is their digest. */
  readonly configBytes: Uint8Array;
  /** Opens the layers (and the config) on demand. */
  readonly blobs: BlobSource;
  /** The tag writers use when the caller names none. */
  readonly tag?: string;
}

/**
 * A manifest that is not a runnable image: an attestation, a signature, an SBOM, any OCI
 * 1.1 artifact. Its blobs are carried, not interpreted.
 */
export interface Artifact {
  readonly kind: 'artifact';
  readonly manifest: ParsedImageManifest;
  readonly blobs: BlobSource;
  readonly tag?: string;
}

/** A multi-platform index (or Docker manifest list) and the manifests it lists, in order. */
export interface Index {
  readonly kind: 'index';
  readonly manifest: ParsedIndex;
  readonly children: readonly ImageNode[];
  readonly tag?: string;
}

/** A node of the manifest graph: an image, an index, or an artifact. */
export type ImageNode = Image | Index | Artifact;

/** The format of an image or index: OCI, or Docker schema 2. */
export type ImageFormat = 'oci' | 'docker';
