// validate IMAGE: every manifest, config and layer an image reaches, read again and
// checked against its digest and size as it streams (and each layer against its diff_id
// with --diff-ids).
import { readSource, selectPlatforms } from '@stevedore/copy';
import { verifyBytes, verifyStream } from '@stevedore/digest';
import { StevedoreError } from '@stevedore/errors';
import {
  type ImageNode,
  type Index,
  imageLayers,
  openVerifiedBlob,
  readLayerTar,
  runBounded,
} from '@stevedore/image';
import { type Descriptor, formatPlatform, isNondistributable, manifestDescriptor } from '@stevedore/manifest';
import { endpointOf } from '../endpoints.ts';
import { platformSelectionOf } from '../global-options.ts';
import { formatBytes } from '../progress.ts';
import type { VerbContext } from '../verb.ts';

/** What a blob is to the image. */
type BlobRole = 'index' | 'manifest' | 'config' | 'layer' | 'blob';

/** One blob checked. */
interface Check {
  readonly role: BlobRole;
  readonly digest: string;
  readonly size: number;
  /** The platform of the image it belongs to, when known. */
  readonly platform?: string;
  /** Only held by some sources (a foreign layer): a source without it is fine. */
  readonly optional?: boolean;
  readonly run: (signal: AbortSignal) => Promise<'verified' | 'absent'>;
}

/** `stevedore validate IMAGE`. */
export async function runValidate(context: VerbContext): Promise<void> {
  const named = context.positionals[0] ?? '';
  const selection = platformSelectionOf(context.global);
  const signal = context.io.signal === undefined ? {} : { signal: context.io.signal };
  const top = await readSource(endpointOf(named), { registry: await context.registry(), ...signal });
  const platforms =
    selection.platforms ?? (selection.platform === undefined ? undefined : [selection.platform]);
  // With --platform, the children of the top index that it names; all of them otherwise.
  const wanted =
    top.kind === 'index' && platforms !== undefined
      ? new Set(
          ((await selectPlatforms(top, { platforms })) as Index).children.map((child) =>
            child.manifest.digest.toString(),
          ),
        )
      : undefined;
  const topPlatform =
    top.kind === 'image'
      ? formatPlatform({
          os: top.config.os,
          architecture: top.config.architecture,
          ...(top.config.variant === undefined ? {} : { variant: top.config.variant }),
        })
      : undefined;
  const checks = checksOf(
    top,
    manifestDescriptor(top.manifest),
    topPlatform,
    wanted,
    context.flags['diff-ids'] === true,
  );

  const done: Array<{ role: BlobRole; digest: string; size: number; platform?: string; absent?: true }> = [];
  let bytes = 0;
  await runBounded(
    checks,
    context.global.concurrency ?? 4,
    async (check, taskSignal) => {
      let outcome: 'verified' | 'absent';
      try {
        outcome = await check.run(taskSignal);
      } catch (error) {
        throw describedError(error, check);
      }
      const absent = outcome === 'absent';
      if (!absent) bytes += Math.max(0, check.size);
      done.push({
        role: check.role,
        digest: check.digest,
        size: check.size,
        ...(check.platform === undefined ? {} : { platform: check.platform }),
        ...(absent ? { absent: true as const } : {}),
      });
      // A line per blob as it is checked; --quiet keeps only the verdict.
      if (!context.global.json && !context.global.quiet)
        context.io.stdout.write(`${lineOf(check, absent)}\n`);
    },
    context.io.signal,
  );
  const summary = `ok: ${done.length} blob${done.length === 1 ? '' : 's'}, ${formatBytes(bytes)} verified`;
  if (context.global.json)
    context.print({ image: named, digest: top.manifest.digest.toString(), ok: true, blobs: done }, summary);
  else context.io.stdout.write(`${summary}\n`);
}

function lineOf(check: Check, absent: boolean): string {
  const where = check.platform === undefined ? '' : `  ${check.platform}`;
  const state = absent ? 'not held (non-distributable)' : 'ok';
  return `${check.role.padEnd(8)} ${check.digest}  ${formatBytes(Math.max(0, check.size)).padStart(10)}  ${state}${where}`;
}

// The error of a check, naming the blob and what it is to the image; same code, so
// scripts can tell a digest mismatch from a missing blob.
function describedError(error: unknown, check: Check): unknown {
  if (!StevedoreError.is(error)) return error;
  const where = check.platform === undefined ? '' : ` of the ${check.platform} image`;
  const wrapped = new StevedoreError(error.code, `${check.role} ${check.digest}${where}: ${error.message}`, {
    cause: error,
  });
  for (const field of ['expected', 'actual', 'digest'] as const) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) Object.defineProperty(wrapped, field, { value, enumerable: true });
  }
  return wrapped;
}

// The checks of a node and all it reaches, each blob once (the first place it is met).
function checksOf(
  top: ImageNode,
  topDescriptor: Descriptor,
  topPlatform: string | undefined,
  wanted: ReadonlySet<string> | undefined,
  diffIds: boolean,
): Check[] {
  const checks: Check[] = [];
  const seen = new Set<string>();
  const visit = (node: ImageNode, descriptor: Descriptor, platform: string | undefined, filter: boolean) => {
    const digest = node.manifest.digest.toString();
    if (!seen.has(digest)) {
      seen.add(digest);
      checks.push({
        role: node.kind === 'index' ? 'index' : 'manifest',
        digest,
        size: descriptor.size < 0 ? node.manifest.size : descriptor.size,
        ...(platform === undefined ? {} : { platform }),
        // The bytes as read, against what their parent (or the top's own digest) says.
        run: async () => {
          await verifyBytes(node.manifest.raw, {
            digest: descriptor.digest,
            size: descriptor.size < 0 ? node.manifest.raw.byteLength : descriptor.size,
          });
          return 'verified';
        },
      });
    }
    if (node.kind === 'index') {
      const entries = node.manifest.json.manifests;
      for (const [position, child] of node.children.entries()) {
        if (filter && wanted !== undefined && !wanted.has(child.manifest.digest.toString())) continue;
        const entry = entries[position] ?? manifestDescriptor(child.manifest);
        const childPlatform = entry.platform === undefined ? platform : formatPlatform(entry.platform);
        visit(child, entry, childPlatform, false);
      }
      return;
    }
    const { blobs } = node;
    const json = node.manifest.json;
    const layerDiffIds = new Map<string, string>();
    if (node.kind === 'image' && diffIds) {
      for (const layer of imageLayers(node)) layerDiffIds.set(layer.descriptor.digest, layer.diffId);
    }
    const blobChecks: Array<[BlobRole, Descriptor]> = [
      [node.kind === 'image' ? 'config' : 'blob', json.config],
      ...json.layers.map((layer): [BlobRole, Descriptor] => [
        node.kind === 'image' ? 'layer' : 'blob',
        layer,
      ]),
    ];
    for (const [role, blob] of blobChecks) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      const diffId = layerDiffIds.get(blob.digest);
      const optional = isNondistributable(blob.mediaType);
      checks.push({
        role,
        digest: blob.digest,
        size: blob.size,
        ...(platform === undefined ? {} : { platform }),
        ...(optional ? { optional } : {}),
        run: async (signal) => {
          const options = { signal, transientChunks: true };
          let stream: AsyncIterable<Uint8Array>;
          if (optional) {
            // A foreign layer: checked when the source holds it (diff_id aside), else noted.
            const opened = await blobs.openBlob(blob, options);
            if (opened === undefined) return 'absent';
            stream = verifyStream(opened, { digest: blob.digest, size: blob.size }, options);
          } else if (role === 'layer' && diffId !== undefined) {
            stream = await readLayerTar({ descriptor: blob, diffId, blobs }, options);
          } else {
            stream = await openVerifiedBlob(blobs, blob, options);
          }
          for await (const _chunk of stream) {
            // Only the verdict of the verification at the end matters.
          }
          return 'verified';
        },
      });
    }
  };
  visit(top, topDescriptor, topPlatform, true);
  return checks;
}
