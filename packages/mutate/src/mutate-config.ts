import {
  type Image,
  type Index,
  type RuntimeConfig,
  reassembleImage,
  runtimeConfigOf,
} from '@stevedore/image';
import type { ImageConfig } from '@stevedore/manifest';
import { applyPerPlatform, type PlatformOptions } from './per-platform.ts';

/** Config changes: the runtime shorthand (labels merged, the rest replaced), or a function of the config. */
export type ConfigChanges = RuntimeConfig | ((config: ImageConfig) => ImageConfig);

/** Options for {@link mutateConfig}. */
export interface MutateConfigOptions extends PlatformOptions {}

/**
 * Changes an image's config: `entrypoint`, `cmd`, `env`, `user`, `workingDir`,
 * `exposedPorts`, `volumes`, `stopSignal` replace what was there; `labels` are merged
 * into the existing ones. Or pass a function from config to config. Layers are kept as
 * they are (never read); the config and manifest digests are recomputed.
 *
 * @throws {MutateError} `ERR_NO_MATCH` for an index without matching `platforms`.
 * @example
 * ```ts
 * const next = await mutateConfig(image, { entrypoint: ['/app'], labels: { version: '2' } });
 * ```
 */
export function mutateConfig(
  image: Image,
  changes: ConfigChanges,
  options?: MutateConfigOptions,
): Promise<Image>;
export function mutateConfig(
  index: Index,
  changes: ConfigChanges,
  options: MutateConfigOptions,
): Promise<Index>;
export async function mutateConfig(
  node: Image | Index,
  changes: ConfigChanges,
  options: MutateConfigOptions = {},
): Promise<Image | Index> {
  return (await applyPerPlatform(node, options, async (image) => {
    const config =
      typeof changes === 'function' ? changes(image.config) : applyRuntimeChanges(image.config, changes);
    return reassembleImage(image, {
      config,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  })) as Image | Index;
}

function applyRuntimeChanges(config: ImageConfig, changes: RuntimeConfig): ImageConfig {
  const runtime = runtimeConfigOf(changes);
  const labels =
    changes.labels === undefined ? {} : { Labels: { ...(config.config?.Labels ?? {}), ...changes.labels } };
  return { ...config, config: { ...config.config, ...runtime, ...labels } };
}
