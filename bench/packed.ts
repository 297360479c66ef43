// The packages as a user gets them: built, packed with `pnpm pack`, installed with npm
// into bench/.data/packed, with a measured script turned into plain JavaScript that
// imports them by name. Peak RSS measured this way is what a user's process pays: no
// TypeScript type stripping, no workspace sources.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name: string) => join(root, 'node_modules/.bin', name);
// turbo finds pnpm on the PATH.
const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` };

/**
 * Builds, packs and installs every package of packages/ into bench/.data/packed, as a
 * user's `npm install` would. Answers that directory (its node_modules holds them).
 */
export function installPackedPackages(): string {
  const dir = join(root, 'bench/.data/packed');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync(bin('turbo'), ['run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  const dependencies: Record<string, string> = {};
  for (const name of readdirSync(join(root, 'packages'))) {
    const packageDir = join(root, 'packages', name);
    const packed = execFileSync(bin('pnpm'), ['pack', '--pack-destination', dir], {
      cwd: packageDir,
      encoding: 'utf8',
    });
    const tarball = basename(packed.trim().split('\n').at(-1) ?? '');
    const { name: packageName } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    dependencies[packageName] = `file:./${tarball}`;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    stdio: 'inherit',
  });
  return dir;
}

/**
 * The packages installed as {@link installPackedPackages} does, then `script` (a bench
 * TypeScript file importing `../packages/<name>/src/index.ts`) written into the install
 * as an `.mjs` importing `@stevedore/<name>`. Answers the path of that `.mjs`.
 */
export function packedScript(script: string): string {
  const dir = installPackedPackages();
  const source = readFileSync(script, 'utf8').replaceAll(
    /'\.\.\/packages\/([a-z-]+)\/src\/index\.ts'/g,
    "'@stevedore/$1'",
  );
  const target = join(dir, basename(script).replace(/\.ts$/, '.mjs'));
  writeFileSync(target, stripTypeScriptTypes(source));
  return target;
}
