import type { ImageConfig, ImageRuntimeConfig } from '@stevedore/manifest';

/**
 * The runtime settings of an image in plain words, for callers who do not want to write
 * a whole image config: what to run, as whom, where, with which environment and labels.
 */
export interface RuntimeConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** `{ NAME: 'value' }` or `['NAME=value']`. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  readonly user?: string;
  readonly workingDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** `['80/tcp', '53/udp']`; a bare number means tcp. */
  readonly exposedPorts?: ReadonlyArray<string | number>;
  readonly volumes?: readonly string[];
  readonly stopSignal?: string;
}

/** Whether a config argument is a whole image config rather than the runtime shorthand. */
export function isImageConfig(config: ImageConfig | RuntimeConfig): config is ImageConfig {
  return 'rootfs' in config || 'architecture' in config || 'os' in config;
}

/** The image config's `config` member for runtime settings; absent settings stay absent. */
export function runtimeConfigOf(runtime: RuntimeConfig): ImageRuntimeConfig {
  const env =
    runtime.env === undefined
      ? undefined
      : Array.isArray(runtime.env)
        ? [...runtime.env]
        : envList(runtime.env);
  const set = (
    keys: ReadonlyArray<string | number> | undefined,
    normalize = (key: string | number) => String(key),
  ) => (keys === undefined ? undefined : Object.fromEntries(keys.map((key) => [normalize(key), {}])));
  const config: Record<string, unknown> = {
    User: runtime.user,
    ExposedPorts: set(runtime.exposedPorts, (port) =>
      /\//.test(String(port)) ? String(port) : `${port}/tcp`,
    ),
    Env: env,
    Entrypoint: runtime.entrypoint === undefined ? undefined : [...runtime.entrypoint],
    Cmd: runtime.cmd === undefined ? undefined : [...runtime.cmd],
    Volumes: set(runtime.volumes),
    WorkingDir: runtime.workingDir,
    Labels: runtime.labels === undefined ? undefined : { ...runtime.labels },
    StopSignal: runtime.stopSignal,
  };
  return Object.fromEntries(
    Object.entries(config).filter(([, value]) => value !== undefined),
  ) as ImageRuntimeConfig;
}

function envList(env: Readonly<Record<string, string>> | readonly string[]): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
