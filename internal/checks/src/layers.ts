/**
 * The layers of DESIGN.md ("Packages and layers"): a package may import only packages on
 * a lower layer. `@stevedore/errors` is the floor beneath layer 0, so that every package,
 * `@stevedore/digest` included, can share one error class.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  '@stevedore/errors': -1,
  '@stevedore/digest': 0,
  '@stevedore/manifest': 1,
  '@stevedore/archive': 1,
  '@stevedore/image': 2,
  '@stevedore/build': 3,
  '@stevedore/mutate': 3,
  '@stevedore/transport-oci': 3,
  '@stevedore/transport-registry': 3,
  '@stevedore/copy': 4,
  '@stevedore/server': 4,
  '@stevedore/cli': 5,
};

/** The scope of published packages. Private helpers live in `internal/` under another scope. */
export const PUBLISHED_SCOPE = '@stevedore/';
