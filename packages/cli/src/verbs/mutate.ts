import type { Image, Index, RuntimeConfig } from '@stevedore/image';
import { formatPlatform, type ImageConfig } from '@stevedore/manifest';
import { exportFilesystem, flatten, mutateAnnotations, mutateConfig, rebase } from '@stevedore/mutate';
import { usageError } from '../errors.ts';
import { onePlatformOf, platformsOf } from '../global-options.ts';
import { formatBytes } from '../progress.ts';
import type { VerbContext } from '../verb.ts';
import { writeOutput } from '../write-output.ts';
import {
  ANNOTATION_FLAG,
  CONFIG_FLAGS,
  compressionOf,
  configChangesOf,
  hasConfigChanges,
  keyValuesOf,
} from './build-flags.ts';
import {
  destinationOf,
  readImage,
  readNode,
  signalOf,
  withScratchDirectory,
  writeResult,
} from './build-output.ts';

/** `stevedore mutate IMAGE [--to ENDPOINT]`. */
export async function runMutate(context: VerbContext): Promise<void> {
  const verb = context.verb.name;
  const [named = ''] = context.positionals;
  const destination = destinationOf(context, named);
  const changes = configChangesOf(context.flags, verb);
  const annotations =
    context.flags.annotation === undefined
      ? undefined
      : keyValuesOf(context.flags.annotation, 'annotation', verb);
  if (!hasConfigChanges(changes) && annotations === undefined) {
    const flags = [...Object.keys(CONFIG_FLAGS), ...Object.keys(ANNOTATION_FLAG)].map((flag) => `--${flag}`);
    throw usageError(`mutate has nothing to change: give at least one of ${flags.join(', ')}`, verb);
  }
  const platforms = platformsOf(context.global);
  const node = await readNode(context, named);
  const options = { ...(node.kind === 'index' ? { platforms } : {}), ...signalOf(context) };
  let next: Image | Index = node;
  if (hasConfigChanges(changes)) {
    const change = (config: ImageConfig) => withChanges(config, changes);
    next =
      next.kind === 'index'
        ? await mutateConfig(next, change, options)
        : await mutateConfig(next, change, options);
  }
  if (annotations !== undefined) {
    // Of an index without --platform or --all: the index's own annotations.
    const explicit = context.global.all || context.global.platforms.length > 0;
    const annotationOptions = explicit ? options : signalOf(context);
    next =
      next.kind === 'index'
        ? await mutateAnnotations(next, annotations, annotationOptions)
        : await mutateAnnotations(next, annotations, annotationOptions);
  }
  await writeResult(context, next, destination);
}

/** `stevedore flatten IMAGE [--to ENDPOINT]`. */
export async function runFlatten(context: VerbContext): Promise<void> {
  const [named = ''] = context.positionals;
  const destination = destinationOf(context, named);
  const compression = compressionOf(context.flags, context.verb.name);
  const platforms = platformsOf(context.global);
  const node = await readNode(context, named);
  await withScratchDirectory(async (blobDirectory) => {
    const options = {
      ...(node.kind === 'index' ? { platforms } : {}),
      blobDirectory,
      ...(compression === undefined ? {} : { compression }),
      ...signalOf(context),
    };
    const flat = node.kind === 'index' ? await flatten(node, options) : await flatten(node, options);
    await writeResult(context, flat, destination);
  });
}

/** `stevedore rebase IMAGE --old-base OLD --new-base NEW [--to ENDPOINT]`. */
export async function runRebase(context: VerbContext): Promise<void> {
  const verb = context.verb.name;
  const [named = ''] = context.positionals;
  const destination = destinationOf(context, named);
  const oldName = context.flags['old-base'];
  const newName = context.flags['new-base'];
  if (typeof oldName !== 'string' || typeof newName !== 'string') {
    throw usageError('rebase needs --old-base OLD and --new-base NEW', verb);
  }
  const given = onePlatformOf(context.global, context.verb.name);
  const node = await readNode(context, named);
  // The bases for the platform being rebased: the one asked for, the image's own, or the host's.
  const platform = given ?? (node.kind === 'image' ? platformOfConfig(node.config) : undefined);
  const oldBase = await readImage(context, oldName, platform);
  const newBase = await readImage(context, newName, platform);
  const options = {
    ...(node.kind === 'index' ? { platforms: platformsOf(context.global) } : {}),
    ...signalOf(context),
  };
  const rebased =
    node.kind === 'index'
      ? await rebase(node, oldBase, newBase, options)
      : await rebase(node, oldBase, newBase, options);
  await writeResult(context, rebased, destination);
}

/** `stevedore export IMAGE [FILE]`. */
export async function runExport(context: VerbContext): Promise<void> {
  const verb = context.verb.name;
  const [named = '', file = '-'] = context.positionals;
  const toStdout = file === '-';
  if (toStdout && context.global.json)
    throw usageError('export --json needs a FILE: the tar goes to stdout', verb);
  if (toStdout && context.io.stdout.isTTY) {
    throw usageError('refusing to write a tar to a terminal: give a FILE, or redirect stdout', verb);
  }
  const image = await readImage(context, named, onePlatformOf(context.global, context.verb.name));
  const digest = image.manifest.digest.toString();
  const tar = exportFilesystem(image, signalOf(context));
  const size = await writeOutput(tar, toStdout ? undefined : file, context.io.stdout);
  if (toStdout) return;
  context.log(`exported the filesystem of ${digest} to ${file} (${formatBytes(size)})`);
  if (context.global.json) context.print({ digest, file, size });
}

// `os/architecture[/variant]` of an image's config.
function platformOfConfig(config: ImageConfig): string {
  return formatPlatform({
    os: config.os,
    architecture: config.architecture,
    ...(config.variant === undefined ? {} : { variant: config.variant }),
  });
}

/**
 * The config with the changes of the flags: `--env` sets variables by name (others kept,
 * a replaced one in its place), `--label` merges, the rest replaces.
 */
function withChanges(config: ImageConfig, changes: RuntimeConfig): ImageConfig {
  const runtime = { ...config.config };
  if (changes.entrypoint !== undefined) runtime.Entrypoint = [...changes.entrypoint];
  if (changes.cmd !== undefined) runtime.Cmd = [...changes.cmd];
  if (changes.workingDir !== undefined) runtime.WorkingDir = changes.workingDir;
  if (changes.user !== undefined) runtime.User = changes.user;
  if (changes.labels !== undefined) runtime.Labels = { ...runtime.Labels, ...changes.labels };
  if (changes.env !== undefined) {
    const env = [...(runtime.Env ?? [])];
    for (const [name, value] of Object.entries(changes.env)) {
      const at = env.findIndex((variable) => variable === name || variable.startsWith(`${name}=`));
      if (at < 0) env.push(`${name}=${value}`);
      else env[at] = `${name}=${value}`;
    }
    runtime.Env = env;
  }
  return { ...config, config: runtime };
}
