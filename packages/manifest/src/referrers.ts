// OCI 1.1 referrers: manifests that point at another through `subject` (signatures, SBOMs,
// attestations), listed in a referrers index, by the registry's referrers API or, where a
// registry lacks it, under a tag named after the subject's digest (distribution-spec,
// "Listing Referrers" and "Referrers Tag Schema").
import type { Descriptor } from './descriptor.ts';
import type { ImageIndex, Manifest } from './manifest.ts';
import { MediaTypes } from './media-types.ts';

/** The manifest this one refers to through `subject`, if any. */
export function manifestSubject(manifest: Manifest): Descriptor | undefined {
  return manifest.format === 'schema1' ? undefined : manifest.json.subject;
}

/**
 * How a referrers index lists a manifest: its media type, digest and size, its
 * `artifactType` (for an image manifest without one, its config's media type) and its
 * annotations.
 */
export function referrerDescriptor(manifest: Manifest): Descriptor {
  const json = manifest.format === 'schema1' ? undefined : manifest.json;
  const artifactType =
    json?.artifactType ?? (json !== undefined && 'config' in json ? json.config.mediaType : undefined);
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest.toString(),
    size: manifest.size,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(json?.annotations === undefined ? {} : { annotations: json.annotations }),
  };
}

/**
 * The tag under which a registry without the referrers API keeps the referrers of
 * `digest`: `<algorithm>-<encoded>`, truncated to 32 and 64 characters.
 */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon).slice(0, 32)}-${digest.slice(colon + 1).slice(0, 64)}`;
}

/** A referrers index listing `referrer` once (replacing an entry of the same digest), the others kept in order. */
export function withReferrer(index: ImageIndex | undefined, referrer: Descriptor): ImageIndex {
  const others = (index?.manifests ?? []).filter((entry) => entry.digest !== referrer.digest);
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.OciIndex,
    manifests: [...others, referrer],
  };
}
