import { createRequire } from 'node:module';

/** The version of `@stevedore/cli` (from its package.json, in the sources and in dist alike). */
export function cliVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}
