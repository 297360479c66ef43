// inspect, manifest, config, digest: what an image is, read from any endpoint.
import { readImage, readSource, selectPlatforms } from '@stevedore/copy';
import type { ImageNode } from '@stevedore/image';
import { formatPlatform } from '@stevedore/manifest';
import { endpointOf } from '../endpoints.ts';
import { onePlatformOf } from '../global-options.ts';
import { formatBytes } from '../progress.ts';
import type { VerbContext } from '../verb.ts';

// The node IMAGE names: an index stays whole unless --platform picks one of it.
async function readNamed(context: VerbContext): Promise<ImageNode> {
  const platform = onePlatformOf(context.global, context.verb.name);
  const read = await readSource(endpointOf(context.positionals[0] ?? ''), {
    registry: await context.registry(),
    ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
  });
  if (read.kind !== 'index' || platform === undefined) return read;
  return selectPlatforms(read, { platform });
}

/** `stevedore inspect IMAGE`. */
export async function runInspect(context: VerbContext): Promise<void> {
  const node = await readNamed(context);
  const common = {
    digest: node.manifest.digest.toString(),
    mediaType: node.manifest.mediaType,
    size: node.manifest.size,
    ...(node.tag === undefined ? {} : { tag: node.tag }),
  };
  const lines = [`digest:     ${common.digest}`, `media type: ${common.mediaType}`];
  if (node.tag !== undefined) lines.push(`tag:        ${node.tag}`);
  if (node.kind === 'index') {
    const manifests = node.manifest.json.manifests;
    lines.push(`manifests:  ${manifests.length}`);
    for (const entry of manifests) {
      const platform = entry.platform === undefined ? '(no platform)' : formatPlatform(entry.platform);
      lines.push(`  ${platform.padEnd(20)} ${entry.digest}  ${formatBytes(entry.size)}`);
    }
    context.print({ ...common, manifest: node.manifest.json }, lines.join('\n'));
    return;
  }
  if (node.kind === 'artifact') {
    const json = node.manifest.json;
    lines.push(`artifact:   ${json.artifactType ?? json.config.mediaType}`);
    if (json.subject !== undefined) lines.push(`subject:    ${json.subject.digest}`);
    for (const layer of json.layers)
      lines.push(`  ${layer.mediaType}  ${layer.digest}  ${formatBytes(layer.size)}`);
    context.print({ ...common, manifest: json }, lines.join('\n'));
    return;
  }
  const { config } = node;
  const layers = node.manifest.json.layers;
  lines.push(
    `platform:   ${formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant === undefined ? {} : { variant: config.variant }) })}`,
  );
  if (config.created !== undefined) lines.push(`created:    ${config.created}`);
  const runtime = config.config ?? {};
  if (runtime.Entrypoint !== undefined) lines.push(`entrypoint: ${JSON.stringify(runtime.Entrypoint)}`);
  if (runtime.Cmd !== undefined) lines.push(`cmd:        ${JSON.stringify(runtime.Cmd)}`);
  if (runtime.WorkingDir !== undefined && runtime.WorkingDir !== '')
    lines.push(`workdir:    ${runtime.WorkingDir}`);
  if (runtime.User !== undefined && runtime.User !== '') lines.push(`user:       ${runtime.User}`);
  for (const variable of runtime.Env ?? []) lines.push(`env:        ${variable}`);
  for (const [key, value] of Object.entries(runtime.Labels ?? {})) lines.push(`label:      ${key}=${value}`);
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);
  lines.push(`layers:     ${layers.length}, ${formatBytes(total)}`);
  for (const layer of layers) lines.push(`  ${layer.digest}  ${formatBytes(layer.size)}`);
  context.print({ ...common, manifest: node.manifest.json, config }, lines.join('\n'));
}

/** `stevedore manifest IMAGE`: the exact bytes. */
export async function runManifest(context: VerbContext): Promise<void> {
  const node = await readNamed(context);
  context.io.stdout.write(new TextDecoder().decode(node.manifest.raw));
  if (context.io.stdout.isTTY) context.io.stdout.write('\n');
}

/** `stevedore config IMAGE`: the exact bytes of the config blob. */
export async function runConfig(context: VerbContext): Promise<void> {
  const platform = onePlatformOf(context.global, context.verb.name);
  // One platform's image (from a registry, its manifest alone): an artifact is refused.
  const node = await readImage(endpointOf(context.positionals[0] ?? ''), {
    registry: await context.registry(),
    ...(context.io.signal === undefined ? {} : { signal: context.io.signal }),
    ...(platform === undefined ? {} : { platform }),
  });
  context.io.stdout.write(new TextDecoder().decode(node.configBytes));
  if (context.io.stdout.isTTY) context.io.stdout.write('\n');
}

/** `stevedore digest IMAGE`. */
export async function runDigest(context: VerbContext): Promise<void> {
  const node = await readNamed(context);
  const digest = node.manifest.digest.toString();
  context.print({ digest }, digest);
}
