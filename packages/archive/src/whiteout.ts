// Whiteouts: image-spec, layer.md, "Whiteouts". A file named `.wh.<name>` in a layer
// deletes `<name>` from the layers below; `.wh..wh..opq` in a directory hides everything
// the layers below put in it. Other `.wh..wh.` names are AUFS metadata, not deletions.

/** The prefix of a whiteout file's name. */
export const WHITEOUT_PREFIX = '.wh.';

/** The name of the opaque-directory marker. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

const META_PREFIX = '.wh..wh.';

function split(path: string): { directory: string; base: string } {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  const cut = path.lastIndexOf('/', end - 1);
  return { directory: path.slice(0, cut + 1), base: path.slice(cut + 1, end) };
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new TypeError(`expected a path string, got ${typeof path}`);
}

/**
 * The whiteout that deletes `path`: `'a/b/c'` gives `'a/b/.wh.c'` (a trailing `/` is
 * ignored).
 * @throws {TypeError} when `path` is not a string; {RangeError} when it names nothing
 *   to delete: empty, `/`, `.`, `..`, or already a whiteout.
 */
export function whiteoutPath(path: string): string {
  checkPath(path);
  const { directory, base } = split(path);
  if (base === '' || base === '.' || base === '..' || base.startsWith(WHITEOUT_PREFIX)) {
    throw new RangeError(`cannot white out ${JSON.stringify(path)}: it names no file, or a whiteout`);
  }
  return `${directory}${WHITEOUT_PREFIX}${base}`;
}

/**
 * Whether `path` is a whiteout (its last component starts with `.wh.`), the opaque
 * marker included.
 * @throws {TypeError} when `path` is not a string.
 */
export function isWhiteout(path: string): boolean {
  checkPath(path);
  return split(path).base.startsWith(WHITEOUT_PREFIX);
}

/**
 * Whether `path` is an opaque-directory marker (`.wh..wh..opq`): its directory hides
 * what the layers below put in it.
 * @throws {TypeError} when `path` is not a string.
 */
export function isOpaqueWhiteout(path: string): boolean {
  checkPath(path);
  return split(path).base === OPAQUE_WHITEOUT;
}

/**
 * The path a whiteout deletes: `'a/b/.wh.c'` gives `'a/b/c'`. Undefined for a normal
 * path, the opaque marker, other AUFS `.wh..wh.` metadata and a bare `.wh.`.
 * @throws {TypeError} when `path` is not a string.
 */
export function whiteoutTarget(path: string): string | undefined {
  checkPath(path);
  const { directory, base } = split(path);
  if (!base.startsWith(WHITEOUT_PREFIX) || base.startsWith(META_PREFIX)) return undefined;
  const target = base.slice(WHITEOUT_PREFIX.length);
  return target === '' ? undefined : `${directory}${target}`;
}
