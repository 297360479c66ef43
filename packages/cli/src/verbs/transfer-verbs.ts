// The transfer verbs' specs (their code loads on demand from the files beside this one).
import type { VerbSpec } from '../verb.ts';

/** sync, pull, push, index, layout and validate: images moved in bulk, assembled, tended and checked. */
export const TRANSFER_VERBS: readonly VerbSpec[] = [
  {
    name: 'sync',
    summary: 'run the copies a YAML or JSON file lists, or mirror the tags of repositories',
    usage: 'FILE',
    description:
      "Runs the copies FILE lists, in order, as skopeo sync and regsync do. FILE is YAML or JSON: `jobs:`, a list of jobs, each with a `source` and a `destination` endpoint (a bare reference is a registry) and optionally `tags` (`all`, or `{ match: REGEX, newest: N }`: the source and destination then name repositories, and each tag the filter selects is copied to the same tag; `match` is not anchored, `newest` keeps the N highest semantic versions), `all: true` or `platforms: [OS/ARCH, …]` (the platforms of an index; by default those of --all and --platform, else the host's) and `referrers: true`. The whole file is checked before anything is copied: a bad one fails naming the field (`jobs[1].source`). A failing image does not stop the others. Prints a line per image (with --json, the results) and exits 1 if any failed.",
    arguments: [1, 1],
    examples: [
      '# mirror.yaml:',
      '#   jobs:',
      "#     - { source: docker.io/library/alpine, destination: localhost:5000/alpine, tags: { match: '^3\\.', newest: 3 }, all: true }",
      '#     - { source: oci:./layout:app, destination: localhost:5000/team/app:v1, platforms: [linux/amd64, linux/arm64] }',
      'stevedore sync mirror.yaml',
      '# the results, for a script',
      'stevedore sync --json --quiet mirror.json',
    ],
    load: async () => (await import('./sync.ts')).runSync,
  },
  {
    name: 'pull',
    summary: 'save an image to an OCI layout, an archive or a directory (crane pull)',
    usage: 'IMAGE PATH',
    description:
      "Copies IMAGE (any endpoint; a bare reference is a registry) to PATH as an OCI image layout (the default: the image is listed under IMAGE's tag, added beside the layout's other images), an oci-archive or docker-archive tar, or a dir: directory, as --format says. A PATH with a transport prefix (oci:PATH:TAG) is taken as it is. Takes the host's platform of an index, another with --platform, or all of them with --all (not into a docker-archive, which holds single images). Prints the digest written.",
    arguments: [2, 2],
    flags: {
      format: {
        type: 'string',
        value: 'FORMAT',
        description: 'what to write at PATH: oci (a layout, the default), oci-archive, docker-archive or dir',
      },
    },
    examples: [
      "# the host's platform into an OCI layout, tagged 3.20",
      'stevedore pull alpine:3.20 ./layout',
      '# every platform, as one oci-archive',
      'stevedore pull --all --format oci-archive localhost:5000/team/app:v1 ./app.tar',
      '# a tar for docker load',
      'stevedore pull --format docker-archive --platform linux/arm64 alpine:3.20 ./alpine.tar',
    ],
    load: async () => (await import('./pull-push.ts')).runPull,
  },
  {
    name: 'push',
    summary: 'push an OCI layout, an archive or a directory to a registry (crane push)',
    usage: 'PATH IMAGE',
    description:
      "Copies the image at PATH to IMAGE (a registry reference, or any endpoint). PATH is read as what it is: a directory with an oci-layout file is an OCI image layout (its only image; name one of several as oci:PATH:TAG), a directory with a version file is a dir: image, a tar with an oci-layout entry is an oci-archive, and any other file a docker-archive (docker save). A PATH with a transport prefix is taken as it is. Takes the host's platform of an index, another with --platform, or all of them with --all. Prints the digest pushed.",
    arguments: [2, 2],
    examples: [
      '# the one image of a layout',
      'stevedore push ./layout localhost:5000/team/app:v1',
      '# every platform of the image tagged v1 in a layout',
      'stevedore push --all oci:./layout:v1 localhost:5000/team/app:v1',
      '# a docker save tar',
      'stevedore push ./app.tar localhost:5000/team/app:v1',
    ],
    load: async () => (await import('./pull-push.ts')).runPush,
  },
  {
    name: 'index',
    summary: 'create, append to, filter and list multi-platform indexes',
    usage:
      'create TARGET IMAGE... | append INDEX IMAGE... | filter INDEX --platform P... --to ENDPOINT | list INDEX',
    description:
      'Works on an image index (a multi-platform image). create writes to TARGET a new OCI index of the IMAGEs, each listed with the platform of its config (the platforms of an IMAGE that is itself an index are listed one by one). append adds the IMAGEs to the end of INDEX and writes it back, or to --to (the index keeps its format, annotations and entries). filter writes to --to an index of only the platforms --platform names (an entry for linux/arm64 matches linux/arm64/v8). list prints the manifests INDEX lists: platform, digest, size. Endpoints are any (a bare reference is a registry); the blobs of each image are copied to where the index is written when it lacks them. create, append and filter print the digest written.',
    arguments: [2, Number.POSITIVE_INFINITY],
    flags: {
      annotation: {
        type: 'string',
        multiple: true,
        value: 'KEY=VALUE',
        description: 'an annotation of the index written by create or append (repeatable)',
      },
      to: {
        type: 'string',
        value: 'ENDPOINT',
        description: 'where append (default: back to INDEX) and filter (required) write the index',
      },
    },
    examples: [
      '# an index of two single-platform images, pushed as v1',
      'stevedore index create localhost:5000/team/app:v1 localhost:5000/team/app:v1-amd64 localhost:5000/team/app:v1-arm64',
      '# one more platform for it',
      'stevedore index append localhost:5000/team/app:v1 oci:./layout:s390x',
      '# only two platforms of an index, under another tag',
      'stevedore index filter --platform linux/amd64 --platform linux/arm64 alpine:3.20 --to localhost:5000/alpine:3.20-slim',
      '# what an index lists',
      'stevedore index list alpine:3.20',
    ],
    load: async () => (await import('./index-verb.ts')).runIndex,
  },
  {
    name: 'layout',
    summary: 'tend an OCI image layout: gc removes the blobs nothing in it uses',
    usage: 'gc PATH',
    description:
      "layout gc removes the blobs of the OCI image layout at PATH that nothing its index.json lists reaches: the manifests, indexes, configs and layers of its entries stay, and so do the signatures, SBOMs and attestations of what stays (manifests whose subject stays), listed or not. index.json, the writers' temporary files and files that are not blobs are left alone; umoci and skopeo read the layout as before. Every manifest reached is read and verified first: a broken one fails the collection with nothing removed. Writers are not locked out: run it when nothing writes to the layout, or give --minimum-age. Prints a line per blob removed and the total.",
    arguments: [2, 2],
    flags: {
      'dry-run': { type: 'boolean', description: 'list the blobs that would be removed, and remove none' },
      'minimum-age': {
        type: 'string',
        value: 'SECONDS',
        description:
          'keep blobs changed less than SECONDS ago (a copy in flight stores blobs before it lists them)',
      },
    },
    examples: [
      '# what would go',
      'stevedore layout gc --dry-run ./layout',
      '# after deleting a tag, free its blobs',
      'stevedore delete oci:./layout:old && stevedore layout gc ./layout',
    ],
    load: async () => (await import('./layout.ts')).runLayout,
  },
  {
    name: 'validate',
    summary: 'check every manifest, config and layer of an image against its digest and size',
    usage: 'IMAGE',
    description:
      'Reads IMAGE (any endpoint) and everything its top manifest reaches (every platform of an index, or those --platform names) and checks each manifest, config and layer blob against the digest and size its descriptor gives as it streams: layers are read whole, from a registry too. With --diff-ids, each layer is also decompressed and checked against the diff_id its config lists. Prints a line per blob and ok; at the first blob that is not what its descriptor says, stops and exits 1 naming it.',
    arguments: [1, 1],
    flags: {
      'diff-ids': {
        type: 'boolean',
        description: "also decompress each layer and check it against its config's diff_id",
      },
    },
    examples: [
      '# every blob of a layout image',
      'stevedore validate oci:./layout:v1',
      '# one platform of an index in a registry, layers decompressed too',
      'stevedore validate --diff-ids --platform linux/arm64 localhost:5000/team/app:v1',
    ],
    load: async () => (await import('./validate.ts')).runValidate,
  },
];
