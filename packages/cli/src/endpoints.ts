// Endpoints on the command line: skopeo's transport-prefixed forms, or, as crane takes
// them, a bare registry reference (`alpine:3.20` is `docker://alpine:3.20`).
import { usageError } from './errors.ts';

const PREFIXES = ['docker://', 'oci:', 'oci-archive:', 'docker-archive:', 'dir:', 'static:'] as const;

/** `text` as a transport-prefixed endpoint: a bare reference becomes `docker://…`. */
export function endpointOf(text: string): string {
  return PREFIXES.some((prefix) => text.startsWith(prefix)) ? text : `docker://${text}`;
}

/** The registry reference of `text` (bare or `docker://`), or a usage error for another transport. */
export function registryReferenceOf(text: string, verb: string): string {
  const endpoint = endpointOf(text);
  if (!endpoint.startsWith('docker://')) {
    throw usageError(
      `${verb} works on registries only; ${JSON.stringify(text)} is not a registry reference`,
      verb,
    );
  }
  return endpoint.slice('docker://'.length);
}

/**
 * The registry host a reference names, if it names one (`localhost:5000/app` does,
 * `alpine:3.20` does not): as docker reads it, a first component before a `/` is a host
 * when it has a dot or a port, or is `localhost`.
 */
export function registryHostOf(text: string): string | undefined {
  const endpoint = endpointOf(text);
  if (!endpoint.startsWith('docker://')) return undefined;
  const reference = endpoint.slice('docker://'.length);
  const slash = reference.indexOf('/');
  if (slash < 0) return undefined;
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/**
 * The registry hosts named by command-line values: those of references
 * (`localhost:5000/app`), and values that are a host alone (`catalog HOST:PORT`).
 */
export function registryHostsOf(values: readonly string[]): string[] {
  const hosts = values.map((value) => registryHostOf(value) ?? (HOST_ALONE.test(value) ? value : undefined));
  return [...new Set(hosts.filter((host) => host !== undefined))];
}

// `registry.example`, `localhost:5000`, `10.0.0.5:5000`: a dot or a port, no slash. (`app:1`
// reads as a host too; listing a host that is never asked costs nothing.)
const HOST_ALONE = /^(?:[\w-]+(?:\.[\w-]+)+(?::\d+)?|[\w.-]+:\d+|localhost)$/;
