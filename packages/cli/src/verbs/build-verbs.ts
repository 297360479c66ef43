// The build verbs' specs (their code loads on demand from the files beside this one).
import type { VerbSpec } from '../verb.ts';
import { ANNOTATION_FLAG, COMPRESSION_FLAG, CONFIG_FLAGS } from './build-flags.ts';

/** `--to` of the verbs that change an image in place unless told otherwise. */
const TO_OR_SAME_FLAG = {
  to: {
    type: 'string',
    value: 'ENDPOINT',
    description: 'where to write the result (any endpoint; default: IMAGE itself)',
  },
} as const;

/** `--to` of the verbs that make a new image. */
const TO_FLAG = {
  to: {
    type: 'string',
    value: 'ENDPOINT',
    description: 'where to write the image (any endpoint; required)',
  },
} as const;

const INDEX_NOTE =
  "For an index, the images of the host's platform change, or those of --platform (repeatable), or every one with --all; the index is written back whole around them.";

/** build, append, mutate, flatten, rebase, export. */
export const BUILD_VERBS: readonly VerbSpec[] = [
  {
    name: 'build',
    summary: 'build an image from directories or tar files, no daemon, reproducibly',
    usage: 'DIR|TAR... --to ENDPOINT',
    description:
      'Builds an image with one layer per DIR or TAR (bottom first; a directory as it is on disk, a tar file uncompressed or gzip/zstd-compressed) and a config from the flags, and writes it to --to (any endpoint). The same inputs give the same digest: entries sorted, owners and timestamps zeroed (times from SOURCE_DATE_EPOCH when set). The platform is linux/amd64 unless --platform names one. --entrypoint and --cmd take a JSON array, or words split on spaces. Prints the digest.',
    arguments: [1, Number.POSITIVE_INFINITY],
    flags: {
      ...TO_FLAG,
      ...CONFIG_FLAGS,
      ...ANNOTATION_FLAG,
      format: {
        type: 'string',
        value: 'oci|docker',
        description: 'the manifest format (default oci)',
      },
      ...COMPRESSION_FLAG,
    },
    examples: [
      '# a static site on top of nothing, into a local registry',
      'stevedore build ./site --entrypoint \'["/bin/server","--root","/"]\' --to localhost:5000/site:v1',
      '# two layers, for arm64, into an OCI layout',
      'stevedore build ./rootfs ./app.tar --platform linux/arm64 --env PORT=8080 --label team=web --to oci:./layout:app',
      '# a Docker image for docker load',
      'stevedore build ./rootfs --format docker --cmd /app --to docker-archive:./app.tar:app:v1',
    ],
    load: async () => (await import('./build.ts')).runBuild,
  },
  {
    name: 'append',
    summary: 'add layers from directories or tar files on top of an image',
    usage: 'BASE LAYER... --to ENDPOINT',
    description:
      "Reads BASE (any endpoint; of an index, the host's platform or --platform), adds one layer per LAYER (a directory, or a tar file uncompressed or gzip/zstd-compressed) with a history entry each, and writes the image to --to. The base's config, format and layers are kept; its layers are not re-read. Prints the digest.",
    arguments: [2, Number.POSITIVE_INFINITY],
    flags: { ...TO_FLAG, ...COMPRESSION_FLAG },
    examples: [
      '# an app on top of alpine',
      'stevedore append alpine:3.20 ./app --to localhost:5000/app:v1',
      '# two layers on the arm64 image of a layout',
      'stevedore append --platform linux/arm64 oci:./layout:base ./etc.tar ./bin --to oci:./layout:app',
    ],
    load: async () => (await import('./build.ts')).runAppend,
  },
  {
    name: 'mutate',
    summary: "change an image's config (entrypoint, env, labels…) and annotations",
    usage: 'IMAGE [--to ENDPOINT]',
    description: `Changes the config of IMAGE (any endpoint): --entrypoint, --cmd, --workdir and --user replace what is there, --env sets variables by name and --label labels, keeping the others; --annotation sets manifest annotations (of an index without --platform or --all, the index's own). Layers stay as they are (never read); the result is written back to IMAGE, as crane does, or to --to. ${INDEX_NOTE} Prints the new digest.`,
    arguments: [1, 1],
    flags: { ...TO_OR_SAME_FLAG, ...CONFIG_FLAGS, ...ANNOTATION_FLAG },
    examples: [
      '# a new entrypoint and a label, pushed back to the same tag',
      'stevedore mutate localhost:5000/app:v1 --entrypoint \'["/app","serve"]\' --label version=1.2.3',
      '# set a variable and an annotation, into another layout tag',
      'stevedore mutate oci:./layout:app --env MODE=production --annotation org.opencontainers.image.source=https://example.com/app --to oci:./layout:prod',
    ],
    load: async () => (await import('./mutate.ts')).runMutate,
  },
  {
    name: 'flatten',
    summary: "squash an image's layers into one",
    usage: 'IMAGE [--to ENDPOINT]',
    description: `Merges every layer of IMAGE into one that holds its effective filesystem (later layers win, whiteouts applied, hardlinks kept), keeps its config, and writes it back to IMAGE or to --to. Layers are read twice, streaming. ${INDEX_NOTE} Prints the new digest.`,
    arguments: [1, 1],
    flags: { ...TO_OR_SAME_FLAG, ...COMPRESSION_FLAG },
    examples: [
      '# one layer instead of many',
      'stevedore flatten localhost:5000/app:v1 --to localhost:5000/app:flat',
      '# every platform of an index, zstd-compressed',
      'stevedore flatten --all --compression zstd oci:./layout:multi',
    ],
    load: async () => (await import('./mutate.ts')).runFlatten,
  },
  {
    name: 'rebase',
    summary: 'move an image from one base image to another',
    usage: 'IMAGE --old-base OLD --new-base NEW [--to ENDPOINT]',
    description:
      "Replaces the bottom layers of IMAGE, which must be exactly OLD's (compared by diff_id; ERR_BASE_MISMATCH names the first that differs), with NEW's; the layers above and the config are kept, history is spliced, and the layers above are not re-read. Written back to IMAGE or to --to. One platform: the image's own, or of an index the host's or --platform (the bases are read for the same platform; the index keeps its other entries). Prints the new digest.",
    arguments: [1, 1],
    flags: {
      ...TO_OR_SAME_FLAG,
      'old-base': {
        type: 'string',
        value: 'OLD',
        description: 'the base IMAGE was built on (any endpoint; required)',
      },
      'new-base': {
        type: 'string',
        value: 'NEW',
        description: 'the base to put under it instead (any endpoint; required)',
      },
    },
    examples: [
      '# the app on the patched base, as a new tag',
      'stevedore rebase localhost:5000/app:v1 --old-base debian:12.5 --new-base debian:12.6 --to localhost:5000/app:v1-patched',
    ],
    load: async () => (await import('./mutate.ts')).runRebase,
  },
  {
    name: 'export',
    summary: "write an image's flattened filesystem as a tar",
    usage: 'IMAGE [FILE]',
    description:
      "Writes the effective filesystem of IMAGE (all layers merged, whiteouts applied, as flatten makes it) as one uncompressed tar to FILE, or to stdout when FILE is - or absent (never to a terminal). Of an index, the host's platform or --platform. FILE appears only once complete. With --json and a FILE, prints the image digest, the file and its size.",
    arguments: [1, 2],
    examples: [
      '# list the files of an image',
      'stevedore export alpine:3.20 | tar -tvf -',
      '# the arm64 filesystem to a file',
      'stevedore export --platform linux/arm64 oci:./layout:app rootfs.tar',
    ],
    load: async () => (await import('./mutate.ts')).runExport,
  },
];
