import { excerpt } from '@stevedore/errors';
import { ManifestError } from './errors.ts';
import type { JsonFields } from './json-fields.ts';

/** The platform an image runs on (image-spec, image-index.md). */
export interface Platform {
  /** The CPU architecture in Go's spelling: `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`. */
  readonly architecture: string;
  /** The operating system in Go's spelling: `linux`, `windows`, `darwin`. */
  readonly os: string;
  /** The operating system version, for example `10.0.17763.1879` on Windows. */
  readonly 'os.version'?: string;
  /** Required OS features, for example `win32k`. */
  readonly 'os.features'?: readonly string[];
  /** The CPU variant: `v6`, `v7`, `v8` for ARM. */
  readonly variant?: string;
  /** Reserved by the image-spec. */
  readonly features?: readonly string[];
}

/** @internal */
export function readPlatform(fields: JsonFields, value: unknown, path: string): Platform {
  const object = fields.object(value, path);
  fields.string(object, 'architecture', path);
  fields.string(object, 'os', path);
  fields.optionalString(object, 'os.version', path);
  fields.optionalStringArray(object, 'os.features', path);
  fields.optionalString(object, 'variant', path);
  fields.optionalStringArray(object, 'features', path);
  return object as unknown as Platform;
}

const PLATFORM_TEXT = /^([a-z0-9_-]+)(?:\(([^()]*)\))?\/([a-z0-9_-]+)(?:\/([a-z0-9_.-]+))?$/i;

/**
 * Parses `os/architecture[/variant]`, as in `--platform linux/arm64/v8`, with an optional
 * OS version in parentheses: `windows(10.0.17763)/amd64`.
 *
 * @throws {ManifestError} `ERR_PLATFORM_INVALID`.
 * @example
 * ```ts
 * parsePlatform('linux/arm/v7'); // { os: 'linux', architecture: 'arm', variant: 'v7' }
 * ```
 */
export function parsePlatform(text: string): Platform {
  if (typeof text !== 'string') throw new TypeError(`parsePlatform: expected a string, got ${typeof text}`);
  const match = PLATFORM_TEXT.exec(text.trim());
  if (match === null) {
    throw new ManifestError(
      'ERR_PLATFORM_INVALID',
      `invalid platform ${excerpt(text)}: expected os/architecture[/variant], for example linux/arm64/v8`,
      { value: text },
    );
  }
  const [, os = '', osVersion, architecture = '', variant] = match;
  return {
    os: os.toLowerCase(),
    architecture: architecture.toLowerCase(),
    ...(variant === undefined ? {} : { variant: variant.toLowerCase() }),
    ...(osVersion === undefined || osVersion === '' ? {} : { 'os.version': osVersion }),
  };
}

/** Formats a platform as `os/architecture[/variant]`, the form {@link parsePlatform} reads. */
export function formatPlatform(platform: Platform): string {
  const os = platform['os.version'] === undefined ? platform.os : `${platform.os}(${platform['os.version']})`;
  const base = `${os}/${platform.architecture}`;
  return platform.variant ? `${base}/${platform.variant}` : base;
}

/**
 * Spells a platform the way the OCI and Go name it, and fills in the variant that an
 * architecture implies: `x86_64` → `amd64`, `aarch64` → `arm64` + `v8`, `armhf` → `arm` + `v7`,
 * `arm` without a variant → `v7`, `i686` → `386`. The same rules containerd applies.
 */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase() === 'macos' ? 'darwin' : platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() ?? '';
  switch (architecture) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'i386':
    case 'i486':
    case 'i586':
    case 'i686':
    case 'x86':
      architecture = '386';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '' || variant === '8' || variant === 'v8.0') variant = 'v8';
      else if (/^\d/.test(variant)) variant = `v${variant}`;
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      else if (/^\d/.test(variant)) variant = `v${variant}`;
      break;
    case 'ppc64el':
      architecture = 'ppc64le';
      break;
  }
  const { variant: _dropped, ...rest } = platform;
  return { ...rest, os, architecture, ...(variant === '' ? {} : { variant }) };
}

/**
 * Whether a manifest for `candidate` satisfies a request for `wanted`, after normalizing
 * both: OS and architecture must match; the variant must match when `wanted` gives one
 * or its architecture implies one; the OS version must match when `wanted` gives one.
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const a = normalizePlatform(wanted);
  const b = normalizePlatform(candidate);
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  if ((a.variant ?? '') !== (b.variant ?? '')) return false;
  if (a['os.version'] !== undefined && a['os.version'] !== b['os.version']) return false;
  return true;
}
