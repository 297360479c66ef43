import type { Platform } from './platform.ts';

/** @internal */
export interface ProcessLike {
  readonly platform?: string;
  readonly arch?: string;
  readonly config?: { readonly variables?: { readonly arm_version?: string | number } };
}

// Node's process.platform and process.arch in the OCI's (Go's) spelling.
const OS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };
const ARCHITECTURE: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  ppc64: 'ppc64le', // Node reports little-endian POWER as ppc64
  mipsel: 'mipsle',
  mips64el: 'mips64le',
};

/**
 * The platform of the running host in OCI terms, from `process.platform` and
 * `process.arch` (Node, Deno and Bun provide them): x64 → amd64, ia32 → 386, arm64 → arm64/v8,
 * arm → arm with the variant Node was built for, win32 → windows. Where no `process`
 * exists (browsers, workers) it answers `linux/amd64`, the most common target.
 */
export function hostPlatform(): Platform {
  return platformOfProcess((globalThis as { process?: ProcessLike }).process);
}

/** @internal */
export function platformOfProcess(process: ProcessLike | undefined): Platform {
  const os = process?.platform ?? 'linux';
  const arch = process?.arch ?? 'x64';
  const architecture = ARCHITECTURE[arch] ?? arch;
  let variant: string | undefined;
  if (architecture === 'arm64') variant = 'v8';
  if (architecture === 'arm') variant = `v${process?.config?.variables?.arm_version ?? 7}`;
  return { os: OS[os] ?? os, architecture, ...(variant === undefined ? {} : { variant }) };
}
