import { requireIndex } from './accessors.ts';
import type { Descriptor } from './descriptor.ts';
import { ManifestError } from './errors.ts';
import { hostPlatform } from './host-platform.ts';
import type { Manifest } from './manifest.ts';
import {
  formatPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatches,
} from './platform.ts';

/**
 * Picks the manifest for a platform from an index: the first entry whose platform
 * matches after normalization (`aarch64` = `arm64`, `arm64` = `arm64/v8`, `arm` = `arm/v7`).
 * When the request names no variant and no entry has the implied one, the first entry of
 * the same OS and architecture is taken. Entries without a platform, and attestations
 * (`unknown/unknown`), never match.
 *
 * @param platform defaults to {@link hostPlatform}; a string is read by {@link parsePlatform}.
 * @throws {ManifestError} `ERR_NOT_AN_INDEX`; `ERR_NO_MATCH` naming the platforms available.
 * @example
 * ```ts
 * const descriptor = selectManifest(index, 'linux/arm64');
 * ```
 */
export function selectManifest(index: Manifest, platform: Platform | string = hostPlatform()): Descriptor {
  const wanted = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const entries = requireIndex(index, 'selectManifest').json.manifests;
  const exact = entries.find(
    (entry) => entry.platform !== undefined && platformMatches(wanted, entry.platform),
  );
  if (exact !== undefined) return exact;
  if (wanted.variant === undefined) {
    const normalized = normalizePlatform(wanted);
    const loose = entries.find((entry) => {
      if (entry.platform === undefined) return false;
      const candidate = normalizePlatform(entry.platform);
      return candidate.os === normalized.os && candidate.architecture === normalized.architecture;
    });
    if (loose !== undefined) return loose;
  }
  const available = entries.flatMap((entry) => (entry.platform === undefined ? [] : [entry.platform]));
  const listed = available.length === 0 ? 'none' : available.map(formatPlatform).join(', ');
  throw new ManifestError(
    'ERR_NO_MATCH',
    `no manifest for ${formatPlatform(wanted)} in index ${index.digest}; available: ${listed}`,
    { wanted, available },
  );
}
