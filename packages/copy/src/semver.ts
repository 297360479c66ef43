// Semantic versions as tags carry them (semver.org 2.0.0), for `sync`'s `newest` filter:
// parsing, with the leading `v` most tags have, and precedence.

/** A semantic version's parts; numbers stay decimal strings, so no size is too big. */
export interface Semver {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** The pre-release identifiers (`rc.1` is `['rc', '1']`); empty for a release. */
  readonly prerelease: readonly string[];
  /** The build metadata identifiers, which take no part in precedence. */
  readonly build: readonly string[];
}

const NUMBER = '0|[1-9]\\d*';
const PRERELEASE_IDENTIFIER = `(?:${NUMBER}|\\d*[a-zA-Z-][0-9a-zA-Z-]*)`;
const BUILD_IDENTIFIER = '[0-9a-zA-Z-]+';
// semver.org, "Is there a suggested regular expression to check a SemVer string?", with `v?`.
const SEMVER = new RegExp(
  `^v?(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})` +
    `(?:-(${PRERELEASE_IDENTIFIER}(?:\\.${PRERELEASE_IDENTIFIER})*))?` +
    `(?:\\+(${BUILD_IDENTIFIER}(?:\\.${BUILD_IDENTIFIER})*))?$`,
);
const NUMERIC = /^\d+$/;

/**
 * Reads a tag as a semantic version (`1.2.3`, `v1.2.3-rc.1+build.5`), or `undefined` for
 * anything else (`latest`, `1.2`, `01.2.3`, `1.2.3-01`).
 * @internal
 * @example
 * ```ts
 * parseSemver('v1.10.0-rc.1'); // { major: '1', minor: '10', patch: '0', prerelease: ['rc', '1'], build: [] }
 * ```
 */
export function parseSemver(tag: string): Semver | undefined {
  const match = SEMVER.exec(tag);
  if (match === null) return undefined;
  const [, major = '', minor = '', patch = '', prerelease, build] = match;
  return {
    major,
    minor,
    patch,
    prerelease: prerelease === undefined ? [] : prerelease.split('.'),
    build: build === undefined ? [] : build.split('.'),
  };
}

/**
 * Orders two versions by semver precedence (semver.org 2.0.0, item 11): negative when `a`
 * comes first, positive when `b` does, 0 for equal precedence (build metadata ignored).
 * A pre-release comes before its release; pre-release identifiers compare numerically
 * when both are numbers, by ASCII otherwise, numbers first, and a shorter list first.
 * @internal
 */
export function compareSemver(a: Semver, b: Semver): number {
  const core =
    compareNumbers(a.major, b.major) || compareNumbers(a.minor, b.minor) || compareNumbers(a.patch, b.patch);
  if (core !== 0) return core;
  if (a.prerelease.length === 0) return b.prerelease.length === 0 ? 0 : 1;
  if (b.prerelease.length === 0) return -1;
  const shared = Math.min(a.prerelease.length, b.prerelease.length);
  for (let position = 0; position < shared; position++) {
    const order = compareIdentifiers(a.prerelease[position] ?? '', b.prerelease[position] ?? '');
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

// Decimal strings without leading zeros: the longer is the bigger, else the first digit
// that differs decides.
function compareNumbers(a: string, b: string): number {
  if (a.length !== b.length) return Math.sign(a.length - b.length);
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) return compareNumbers(a, b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
