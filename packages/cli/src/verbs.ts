// Every verb of the `stevedore` command: names, arguments, flags, help and examples, with
// the code loaded only when the verb runs (so `stevedore --version` loads none of it).
import type { VerbSpec } from './verb.ts';
import { AUTH_VERBS } from './verbs/auth-verbs.ts';
import { BUILD_VERBS } from './verbs/build-verbs.ts';
import { TRANSFER_VERBS } from './verbs/transfer-verbs.ts';

const referrersFlag = {
  referrers: {
    type: 'boolean',
    description: 'bring signatures, SBOMs and attestations (manifests whose subject is copied) along',
  },
} as const;

/** The verbs, in the order help lists them. */
export const VERBS: readonly VerbSpec[] = [
  {
    name: 'copy',
    aliases: ['cp'],
    summary: 'copy an image or index between any two endpoints, digests preserved',
    usage: 'SOURCE DESTINATION',
    description:
      'Copies an image, or an index with --all or --platform, from SOURCE to DESTINATION. Blobs the destination already has are skipped; every blob is verified as it moves; digests stay the same wherever the destination stores the same bytes (all but docker-archive:, which keeps layers uncompressed). Prints the digest written.',
    arguments: [2, 2],
    flags: referrersFlag,
    examples: [
      '# mirror every platform of an image into a local registry',
      'stevedore copy --all docker.io/library/alpine:3.20 localhost:5000/alpine:3.20',
      '# one platform into an OCI layout',
      'stevedore cp --platform linux/arm64 alpine:3.20 oci:./layout:alpine',
      '# a docker-archive for docker load',
      'stevedore copy oci:./layout:alpine docker-archive:./alpine.tar:alpine:3.20',
    ],
    load: async () => (await import('./verbs/copy.ts')).runCopy,
  },
  {
    name: 'inspect',
    summary: "show an image's digest, media type, platforms and config",
    usage: 'IMAGE',
    description:
      'Reads IMAGE (any endpoint) and prints its digest, media type, tag, and either its config (an image) or its platforms (an index). With --platform, the image of that platform of an index. With --json, everything, the manifest included.',
    arguments: [1, 1],
    examples: [
      'stevedore inspect alpine:3.20',
      'stevedore inspect --platform linux/arm64 --json oci:./layout:alpine',
    ],
    load: async () => (await import('./verbs/inspect.ts')).runInspect,
  },
  {
    name: 'manifest',
    summary: "print an image's manifest, its exact bytes",
    usage: 'IMAGE',
    description:
      'Prints the manifest (or index) of IMAGE exactly as stored: its bytes are what the digest is computed over. With --platform, the manifest of that platform of an index.',
    arguments: [1, 1],
    examples: [
      'stevedore manifest alpine:3.20',
      'stevedore manifest --platform linux/amd64 oci:./layout:alpine',
    ],
    load: async () => (await import('./verbs/inspect.ts')).runManifest,
  },
  {
    name: 'config',
    summary: "print an image's config",
    usage: 'IMAGE',
    description:
      "Prints the config blob of IMAGE (entrypoint, env, layers' diff_ids, history). For an index, the config of the host's platform, or of --platform.",
    arguments: [1, 1],
    examples: ['stevedore config --platform linux/arm64 alpine:3.20'],
    load: async () => (await import('./verbs/inspect.ts')).runConfig,
  },
  {
    name: 'digest',
    aliases: ['manifest-digest'],
    summary: "print an image's manifest digest",
    usage: 'IMAGE',
    description:
      'Prints the digest of the manifest IMAGE names (the index for a multi-platform image, unless --platform picks one).',
    arguments: [1, 1],
    examples: ['stevedore digest alpine:3.20', 'stevedore digest oci:./layout:v1'],
    load: async () => (await import('./verbs/inspect.ts')).runDigest,
  },
  {
    name: 'ls',
    aliases: ['list-tags'],
    summary: 'list the tags of a repository, layout or archive',
    usage: 'REPOSITORY',
    description:
      'Lists the tags of a registry repository (every page), or of an oci: layout, oci-archive:, docker-archive: or static: tree, one per line (a JSON array with --json).',
    arguments: [1, 1],
    examples: ['stevedore ls localhost:5000/app', 'stevedore list-tags oci:./layout'],
    load: async () => (await import('./verbs/registry.ts')).runListTags,
  },
  {
    name: 'catalog',
    summary: "list a registry's repositories",
    usage: 'REGISTRY',
    description: 'Lists every repository of REGISTRY (its /v2/_catalog, every page), one per line.',
    arguments: [1, 1],
    examples: ['stevedore catalog localhost:5000'],
    load: async () => (await import('./verbs/registry.ts')).runCatalog,
  },
  {
    name: 'tag',
    summary: 'give an image in a registry another tag',
    usage: 'IMAGE TAG',
    description:
      'Puts the manifest IMAGE names under TAG in the same repository; no blob moves. Prints the new reference.',
    arguments: [2, 2],
    examples: ['stevedore tag localhost:5000/app:v1.2.3 latest'],
    load: async () => (await import('./verbs/registry.ts')).runTag,
  },
  {
    name: 'delete',
    summary: 'delete an image from a registry or a layout',
    usage: 'IMAGE',
    description:
      "Deletes the manifest IMAGE names from a registry (by digest, as distribution requires; its tags go with it), or the tag or digest from an oci: layout's index. Blobs stay until the store's garbage collection.",
    arguments: [1, 1],
    examples: ['stevedore delete localhost:5000/app:old', 'stevedore delete oci:./layout:old'],
    load: async () => (await import('./verbs/registry.ts')).runDelete,
  },
  {
    name: 'blob',
    summary: 'write a blob of a registry repository to stdout or a file',
    usage: 'REPOSITORY@DIGEST',
    description:
      'Fetches the blob DIGEST of a registry repository, verified as it streams, and writes it to stdout or to --output.',
    arguments: [1, 1],
    flags: {
      output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE instead of stdout' },
    },
    examples: ['stevedore blob localhost:5000/app@sha256:… > layer.tar.gz'],
    load: async () => (await import('./verbs/registry.ts')).runBlob,
  },
  ...BUILD_VERBS,
  ...TRANSFER_VERBS,
  {
    name: 'serve',
    summary: 'run a /v2 registry on a local filesystem store',
    usage: '',
    description:
      'Serves the OCI distribution API from a store directory until interrupted (Ctrl-C). On a loopback address it runs without auth by default; anywhere else it needs --htpasswd (Basic auth, bcrypt) or --token (Docker token auth with the same users). Prints the registry URL.',
    arguments: [0, 0],
    flags: {
      store: {
        type: 'string',
        value: 'DIR',
        description: 'where the registry keeps everything (default ./registry)',
      },
      host: { type: 'string', value: 'ADDRESS', description: 'the address to listen on (default 127.0.0.1)' },
      port: { type: 'string', value: 'PORT', description: 'the port (default 5000; 0 picks a free one)' },
      htpasswd: {
        type: 'string',
        value: 'FILE',
        description: 'users and bcrypt passwords (htpasswd -B) for Basic auth',
      },
      token: {
        type: 'boolean',
        description: 'issue Docker tokens (/token) to the htpasswd users instead of Basic auth',
      },
      'anonymous-pull': { type: 'boolean', description: 'with auth, let anyone pull' },
      'read-only': { type: 'boolean', description: 'refuse every push and delete' },
      tls: {
        type: 'string',
        value: 'CERT,KEY',
        description: 'serve HTTPS with this certificate and key (PEM files, comma-separated)',
      },
    },
    examples: [
      '# a registry for this machine only',
      'stevedore serve --store ./registry --port 5000',
      '# for the network, with Docker token auth',
      'stevedore serve --host 0.0.0.0 --htpasswd ./htpasswd --token',
    ],
    load: async () => (await import('./verbs/serve.ts')).runServe,
  },
  ...AUTH_VERBS,
  {
    name: 'version',
    summary: "print stevedore's version",
    usage: '',
    description: 'Prints the version of stevedore (with --json, also those of Node and the platform).',
    arguments: [0, 0],
    examples: ['stevedore version'],
    load: async () => (await import('./verbs/version.ts')).runVersion,
  },
];
