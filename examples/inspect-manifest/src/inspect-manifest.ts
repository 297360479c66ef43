import { formatPlatform, indexManifests, manifestLayers, parseManifest } from '@stevedore/manifest';

/** A summary of a manifest or index, as `inspect-manifest` prints it. */
export async function inspectManifest(bytes: Uint8Array): Promise<string> {
  const manifest = await parseManifest(bytes);
  const lines = [
    `${manifest.kind} ${manifest.mediaType}`,
    `digest ${manifest.digest}`,
    `size ${manifest.size}`,
  ];
  if (manifest.kind === 'index') {
    for (const entry of indexManifests(manifest)) {
      const platform = entry.platform === undefined ? 'no platform' : formatPlatform(entry.platform);
      lines.push(`  ${platform.padEnd(24)} ${entry.digest}`);
    }
  } else {
    for (const layer of manifestLayers(manifest)) {
      lines.push(`  layer ${layer.digest} ${layer.size < 0 ? '(size unknown)' : `${layer.size} bytes`}`);
    }
  }
  return lines.join('\n');
}
