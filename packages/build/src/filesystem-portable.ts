// The `default` branch of `#filesystem`: runtimes without node:fs build from bytes,
// streams and entries only.

import { BuildError } from './errors.ts';
import type { Filesystem } from './filesystem.ts';

const unsupported = (path: string): never => {
  throw new BuildError(
    'ERR_UNSUPPORTED_RUNTIME',
    `cannot read ${path}: building from paths needs Node's filesystem; pass tar bytes, a stream or entries`,
    { path },
  );
};

/** @internal */
export const filesystem: Filesystem = {
  readPathInput: async (path) => unsupported(path),
  directoryEntries: async (path) => unsupported(path),
};
