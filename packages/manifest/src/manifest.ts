import type { Digest } from '@stevedore/digest';
import type { Descriptor } from './descriptor.ts';

/** An image manifest: OCI (image-spec, manifest.md) or Docker schema 2. */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  /** The type of an artifact (OCI 1.1); set when `config` is the empty descriptor. */
  readonly artifactType?: string;
  readonly config: Descriptor;
  /** The layers, bottom first. */
  readonly layers: readonly Descriptor[];
  /** The manifest this one refers to (OCI 1.1 referrers: signatures, SBOMs). */
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A multi-platform index: OCI (image-spec, image-index.md) or a Docker manifest list. */
export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A Docker image manifest v2, schema 1: legacy, read-only. */
export interface Schema1Manifest {
  readonly schemaVersion: 1;
  readonly name: string;
  readonly tag: string;
  readonly architecture: string;
  /** The layers, top layer first. */
  readonly fsLayers: readonly { readonly blobSum: string }[];
  /** One entry per layer: a v1 image JSON document as a string. */
  readonly history: readonly { readonly v1Compatibility: string }[];
  /** JWS signatures (`+prettyjws`); the manifest digest excludes them. */
  readonly signatures?: readonly unknown[];
}

/** What every parsed manifest has: its exact bytes, their digest and size, and its media type. */
interface ParsedManifestBase {
  /** The manifest's bytes exactly as read; its digest is over these. Never re-serialize to move one. */
  readonly raw: Uint8Array;
  /** The manifest digest, as registries compute it. */
  readonly digest: Digest;
  /** The number of bytes in `raw`. */
  readonly size: number;
  readonly mediaType: string;
}

/** A parsed OCI or Docker schema 2 image manifest. */
export interface ParsedImageManifest extends ParsedManifestBase {
  readonly kind: 'manifest';
  readonly format: 'oci' | 'docker';
  readonly json: ImageManifest;
}

/** A parsed Docker schema 1 manifest (read-only support). */
export interface ParsedSchema1Manifest extends ParsedManifestBase {
  readonly kind: 'manifest';
  readonly format: 'schema1';
  readonly json: Schema1Manifest;
}

/** A parsed OCI index or Docker manifest list. */
export interface ParsedIndex extends ParsedManifestBase {
  readonly kind: 'index';
  readonly format: 'oci' | 'docker';
  readonly json: ImageIndex;
}

/** Any parsed manifest or index, as {@link parseManifest} returns it. */
export type Manifest = ParsedImageManifest | ParsedSchema1Manifest | ParsedIndex;

/** Whether a document is a single-image manifest or a multi-platform index. */
export type ManifestKind = Manifest['kind'];
