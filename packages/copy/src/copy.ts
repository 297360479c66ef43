import {
  assembleIndex,
  type Image,
  type ImageFormat,
  type ImageNode,
  type Index,
  imageAnnotations,
  imageFormat,
  type ManifestBytes,
  type TransferOptions,
} from '@stevedore/image';
import {
  type Descriptor,
  hostPlatform,
  manifestDescriptor,
  type Platform,
  parseManifest,
  parsePlatform,
  platformMatches,
  selectManifest,
} from '@stevedore/manifest';
import {
  readDir,
  readDockerArchive,
  readOciArchive,
  readOciLayout,
  readStatic,
  writeDir,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  writeStatic,
} from '@stevedore/transport-oci';
import {
  openRegistryDestination,
  parseReference,
  type Reference,
  readRegistry,
  registryTag,
  writeRegistry,
} from '@stevedore/transport-registry';
import { type Endpoint, formatEndpoint, toEndpoint } from './endpoint.ts';
import { CopyError } from './errors.ts';
import { copyReferrers, referrersEndpoints } from './referrers.ts';
import { type RegistryOption, registryClientOf } from './registry-option.ts';

/** What a copy reads: an endpoint (string or object), or an image already in memory. */
export type CopySource = string | Endpoint | ImageNode;
/** Where a copy writes. */
export type CopyDestination = string | Endpoint;

/** Which platforms of an index a copy takes. Without any, the host's (as skopeo does). */
export interface PlatformSelection {
  /** The whole index, every platform. */
  readonly all?: boolean;
  /** A subset: the copy writes an index that lists only these. */
  readonly platforms?: ReadonlyArray<string | Platform>;
  /** One platform: the copy writes that image alone. */
  readonly platform?: string | Platform;
}

/**
 * Options for {@link copy}: which platforms, how many blobs at once (`concurrency`,
 * default 4), `onProgress` per blob, and `signal` to abort (nothing half-written is left
 * under a digest).
 */
export interface CopyOptions extends PlatformSelection, TransferOptions, RegistryOption {
  /**
   * Bring the referrers along (signatures, SBOMs, attestations: manifests whose `subject`
   * is a manifest copied), and theirs, each by digest. Between `docker://` and `oci:`
   * endpoints only.
   */
  readonly referrers?: boolean;
}

/** Options for {@link readSource}. */
export interface ReadSourceOptions extends RegistryOption {
  /** The manifest format for a `docker-archive:` image, which stores none (default `docker`). */
  readonly format?: ImageFormat;
  readonly signal?: AbortSignal;
}

/** What a copy wrote. */
export interface CopyResult {
  /** The digest of the manifest written at the destination. */
  readonly digest: string;
  /** With `referrers: true`, the digests of the referrers copied. */
  readonly referrers?: readonly string[];
}

/**
 * Copies an image or index between any two transports. Digests are preserved wherever
 * the destination holds the same bytes (all but `docker-archive:`, which stores layers
 * uncompressed); blobs a destination already has are not written again; every blob is
 * verified as it moves.
 *
 * @throws {CopyError} `ERR_ENDPOINT_INVALID`; `ERR_REFERRERS_UNSUPPORTED`; `ManifestError`
 *   `ERR_NO_MATCH` when the platform asked for is not in the index; the transports' errors.
 * @example
 * ```ts
 * await copy('oci:./layout:v1', 'dir:./out');
 * await copy('oci:./layout:multi', 'oci-archive:./all.tar:multi', { all: true });
 * ```
 */
export async function copy(
  source: CopySource,
  destination: CopyDestination,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const { all: _all, platforms: _platforms, platform: _platform, referrers, ...transfer } = options;
  const from = endpointOf(source);
  const to = toEndpoint(destination);
  const along = referrers === true ? referrersEndpoints(from, to) : undefined;
  // A docker-archive holds no manifest to preserve: describe its image in the format the
  // destination expects (skopeo finds only OCI manifests by tag in an OCI layout).
  const format = to.transport === 'oci' || to.transport === 'oci-archive' ? 'oci' : 'docker';
  const plan = from?.transport === 'docker' ? await planRegistryRead(from, options) : undefined;
  if (plan !== undefined && along === undefined && (await heldByRegistry(plan, to, options))) {
    return { digest: plan.descriptor.digest };
  }
  const node = await readPlanned(source, plan, { ...options, format });
  await writeEndpoint(to, node, transfer);
  const digest = node.manifest.digest.toString();
  if (along === undefined) return { digest };
  return { digest, referrers: await copyReferrers(along.from, along.to, node, transfer) };
}

/** What a copy from a registry takes, known from the source's top manifest alone. */
interface RegistryPlan {
  /** The source, and its top manifest as fetched. */
  readonly reference: Reference;
  readonly top: ManifestBytes;
  /** The tag of what is read (the source's, but for one platform of an index). */
  readonly tag: string | undefined;
  /** The manifest the copy writes. */
  readonly descriptor: Descriptor;
  /** One platform of an index: that image, by digest (the other platforms are never read). */
  readonly platformImage?: Reference;
}

// The source's top manifest, and the part of it a copy takes; none for a subset of
// platforms (`platforms`), which makes a new index.
async function planRegistryRead(
  from: Extract<Endpoint, { transport: 'docker' }>,
  options: CopyOptions,
): Promise<RegistryPlan | undefined> {
  if (options.platforms !== undefined) return undefined;
  const source = parseReference(from.reference);
  const top = await registryClientOf(options).getManifest(source, signalOf(options));
  const manifest = await parseManifest(top.bytes, top.mediaType);
  if (manifest.kind !== 'index' || options.all === true) {
    return { reference: source, top, tag: source.tag, descriptor: manifestDescriptor(manifest) };
  }
  const descriptor = selectManifest(manifest, options.platform ?? hostPlatform());
  const platformImage = {
    registry: source.registry,
    repository: source.repository,
    digest: descriptor.digest,
  };
  return { reference: source, top, tag: undefined, descriptor, platformImage };
}

// The part of the source a copy (or readImage) takes: from a registry as planned (one
// platform of an index by its digest, the others never read), else read and selected.
async function readPlanned(
  source: CopySource,
  plan: RegistryPlan | undefined,
  options: PlatformSelection & ReadSourceOptions,
): Promise<ImageNode> {
  if (plan === undefined) {
    const { all: _all, platforms: _platforms, platform: _platform, ...reading } = options;
    return selectPlatforms(await readSource(source, reading), options);
  }
  const client = registryClientOf(options);
  return plan.platformImage === undefined
    ? readRegistry(plan.reference, client, { ...signalOf(options), manifest: plan.top })
    : readRegistry(plan.platformImage, client, signalOf(options));
}

/** Options for {@link readImage}. */
export interface ReadImageOptions extends ReadSourceOptions {
  /** The platform to take from an index; default the host's. */
  readonly platform?: string | Platform;
}

/**
 * The image an endpoint names; of an index, the image of `platform` (default the host's),
 * read as a copy reads it: from a registry, that platform's manifest by its digest, the
 * other platforms' manifests and configs never fetched.
 *
 * @throws {CopyError} `ERR_NOT_AN_IMAGE` for an artifact (a signature, an SBOM);
 *   `ManifestError` `ERR_NO_MATCH` naming the platforms an index has; the transports' errors.
 * @example
 * ```ts
 * const arm = await readImage('docker://alpine:3.20', { platform: 'linux/arm64' });
 * arm.config.architecture; // 'arm64'
 * ```
 */
export async function readImage(source: CopySource, options: ReadImageOptions = {}): Promise<Image> {
  const from = endpointOf(source);
  const selection = { ...options, all: false as const };
  const plan = from?.transport === 'docker' ? await planRegistryRead(from, selection) : undefined;
  const node = await readPlanned(source, plan, selection);
  if (node.kind !== 'image') {
    const named = isImageNode(source)
      ? undefined
      : typeof source === 'string'
        ? source
        : formatEndpoint(source);
    const what = node.kind === 'artifact' ? 'an artifact' : 'an index';
    throw new CopyError(
      'ERR_NOT_AN_IMAGE',
      `${named ?? 'the node given'} is ${what} (${node.manifest.mediaType}), not an image`,
      named === undefined ? {} : { endpoint: named },
    );
  }
  return node;
}

// Registry to registry: whether the destination holds what the copy would write under
// the tag already, asked with a HEAD before any config or blob is read (crane and regsync
// skip the same way).
async function heldByRegistry(plan: RegistryPlan, to: Endpoint, options: CopyOptions): Promise<boolean> {
  if (to.transport !== 'docker') return false;
  const client = registryClientOf(options);
  const tag = registryTag(parseReference(to.reference), plan.tag);
  const destination = openRegistryDestination(to.reference, client);
  const held = await destination.hasManifest?.(plan.descriptor, {
    ...signalOf(options),
    ...(tag === undefined ? {} : { tag }),
  });
  return held === true;
}

function signalOf(options: { readonly signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

/** Whether a copy's source is an image in memory rather than an endpoint. @internal */
export function isImageNode(source: CopySource): source is ImageNode {
  return typeof source === 'object' && source !== null && 'kind' in source;
}

// The endpoint of a source, or none for an image in memory.
function endpointOf(source: CopySource): Endpoint | undefined {
  return isImageNode(source) ? undefined : toEndpoint(source);
}

/**
 * Reads the image, index or artifact an endpoint names (manifests and configs now,
 * layers on demand).
 * @throws {CopyError} `ERR_ENDPOINT_INVALID`; the transport's errors.
 */
export async function readSource(source: CopySource, options: ReadSourceOptions = {}): Promise<ImageNode> {
  if (isImageNode(source)) return source;
  const endpoint = toEndpoint(source);
  const signal = signalOf(options);
  switch (endpoint.transport) {
    case 'oci':
      return readOciLayout(endpoint.path, {
        ...signal,
        ...(endpoint.tag === undefined ? {} : { tag: endpoint.tag }),
      });
    case 'oci-archive':
      return readOciArchive(endpoint.path, {
        ...signal,
        ...(endpoint.tag === undefined ? {} : { tag: endpoint.tag }),
      });
    case 'docker-archive':
      return readDockerArchive(endpoint.path, {
        ...signal,
        ...(options.format === undefined ? {} : { format: options.format }),
        ...(endpoint.tag === undefined ? {} : { tag: endpoint.tag }),
        ...(endpoint.index === undefined ? {} : { index: endpoint.index }),
      });
    case 'dir':
      return readDir(endpoint.path, signal);
    case 'docker':
      return readRegistry(endpoint.reference, registryClientOf(options), signal);
    case 'static':
      return readStatic(endpoint.path, {
        name: endpoint.name,
        ...signal,
        ...(endpoint.tag === undefined ? {} : { tag: endpoint.tag }),
      });
  }
}

/**
 * Writes an image, index or artifact to an endpoint.
 * @throws {CopyError} `ERR_ENDPOINT_INVALID`; the transport's errors.
 */
export async function writeEndpoint(
  destination: CopyDestination,
  node: ImageNode,
  options: TransferOptions & RegistryOption = {},
): Promise<void> {
  const endpoint = toEndpoint(destination);
  const tag = 'tag' in endpoint && endpoint.tag !== undefined ? { tag: endpoint.tag } : {};
  switch (endpoint.transport) {
    case 'oci':
      return writeOciLayout(endpoint.path, node, { ...options, ...tag });
    case 'oci-archive':
      return writeOciArchive(endpoint.path, node, { ...options, ...tag });
    case 'docker-archive':
      return writeDockerArchive(endpoint.path, node, { ...options, ...tag });
    case 'dir':
      return writeDir(endpoint.path, node, options);
    case 'static':
      return writeStatic(endpoint.path, node, { ...options, name: endpoint.name, ...tag });
    case 'docker': {
      const { registry: _registry, ...transfer } = options;
      return writeRegistry(endpoint.reference, node, registryClientOf(options), transfer);
    }
  }
}

/**
 * The part of an index a copy takes: all of it, a filtered index of some platforms, one
 * platform's image, or by default the host's. Images and artifacts pass through.
 * @throws {ManifestError} `ERR_NO_MATCH` naming the platforms the index has.
 */
export async function selectPlatforms(node: ImageNode, selection: PlatformSelection): Promise<ImageNode> {
  if (node.kind !== 'index' || selection.all === true) return node;
  if (selection.platforms !== undefined) return filterIndex(node, selection.platforms);
  const descriptor = selectManifest(node.manifest, selection.platform ?? hostPlatform());
  return node.children.find((child) => child.manifest.digest.toString() === descriptor.digest) ?? node;
}

async function filterIndex(index: Index, platforms: ReadonlyArray<string | Platform>): Promise<Index> {
  const wanted = platforms.map((platform) =>
    typeof platform === 'string' ? parsePlatform(platform) : platform,
  );
  const entries = index.manifest.json.manifests;
  const keep = entries.flatMap((entry, position) =>
    entry.platform !== undefined &&
    wanted.some((platform) => platformMatches(platform, entry.platform as Platform))
      ? [position]
      : [],
  );
  // None of them: selectManifest fails with ERR_NO_MATCH naming what the index has.
  if (keep.length === 0) for (const platform of wanted) selectManifest(index.manifest, platform);
  const annotations = imageAnnotations(index);
  return assembleIndex(
    keep.map((position) => index.children[position] as ImageNode),
    {
      format: imageFormat(index),
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
      entries: keep.map((position) => {
        const entry = entries[position];
        return {
          ...(entry?.annotations === undefined ? {} : { annotations: entry.annotations }),
          ...(entry?.platform === undefined ? {} : { platform: entry.platform }),
        };
      }),
    },
  );
}
