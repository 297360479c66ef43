import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkLayers, findCycles, importsOf } from './check-layers.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stevedore-layers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(path: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
}

async function addPackage(
  folder: string,
  dependencies: Record<string, string> = {},
  name = `@stevedore/${folder}`,
) {
  await write(`packages/${folder}/package.json`, JSON.stringify({ name, dependencies }));
}

/** A small workspace that keeps every rule: digest (0) ← manifest (1) ← image (2). */
async function validWorkspace(): Promise<void> {
  await addPackage('errors');
  await addPackage('digest', { '@stevedore/errors': 'workspace:^' });
  await addPackage('manifest', { '@stevedore/digest': 'workspace:^', '@stevedore/errors': 'workspace:^' });
  await addPackage('image', { '@stevedore/manifest': 'workspace:^' });
  await write('packages/errors/src/index.ts', 'export class StevedoreError extends Error {}\n');
  await write(
    'packages/digest/src/index.ts',
    "import { StevedoreError } from '@stevedore/errors';\nexport const x = 1;\n",
  );
  await write(
    'packages/manifest/src/index.ts',
    "import { x } from '@stevedore/digest';\nexport { y } from './y.ts';\nexport type { T } from './t.ts';\n",
  );
  await write('packages/manifest/src/y.ts', "import type { T } from './index.ts';\nexport const y = 2;\n");
  await write('packages/manifest/src/t.ts', 'export type T = number;\n');
  await write('packages/image/src/index.ts', "export const load = () => import('@stevedore/manifest');\n");
}

describe('checkLayers', () => {
  it('passes a workspace that keeps the rules (type-only cycles are fine)', async () => {
    await validWorkspace();
    expect(await checkLayers(root)).toEqual([]);
  });

  it('fails when a package imports a higher layer', async () => {
    await validWorkspace();
    await write('packages/digest/src/bad.ts', "import { parseManifest } from '@stevedore/manifest';\n");
    const violations = await checkLayers(root);
    expect(violations).toContainEqual({
      rule: 'layer',
      file: 'packages/digest/src/bad.ts',
      message:
        '@stevedore/digest (layer 0) imports @stevedore/manifest (layer 1); only lower layers may be imported',
    });
  });

  it('fails when a package imports its own layer, also by re-export or dynamic import or in a test', async () => {
    await validWorkspace();
    await addPackage('archive', { '@stevedore/manifest': 'workspace:^' });
    await write('packages/archive/src/index.ts', "export { parseManifest } from '@stevedore/manifest';\n");
    await write('packages/archive/src/lazy.ts', "export const m = () => import('@stevedore/manifest');\n");
    await write('packages/archive/src/a.test.ts', "import '@stevedore/manifest';\n");
    const layer = (await checkLayers(root)).filter((v) => v.rule === 'layer').map((v) => v.file);
    expect(layer).toEqual([
      'packages/archive/src/a.test.ts',
      'packages/archive/src/index.ts',
      'packages/archive/src/lazy.ts',
    ]);
  });

  it('fails on a runtime import cycle between modules', async () => {
    await validWorkspace();
    await write('packages/digest/src/a.ts', "import { b } from './b.ts';\nexport const a = 1;\n");
    await write('packages/digest/src/b.ts', "import { a } from './a.js';\nexport const b = 1;\n");
    const cycles = (await checkLayers(root)).filter((v) => v.rule === 'cycle');
    expect(cycles).toHaveLength(1);
    expect(cycles[0]?.message).toContain(
      'packages/digest/src/a.ts → packages/digest/src/b.ts → packages/digest/src/a.ts',
    );
  });

  it('fails on relative imports into another package, undeclared dependencies and unknown packages', async () => {
    await validWorkspace();
    await write('packages/image/src/sneaky.ts', "import { x } from '../../digest/src/index.ts';\n");
    await write('packages/image/src/undeclared.ts', "import { x } from '@stevedore/digest';\n");
    await addPackage('extra');
    await addPackage('misnamed', {}, '@stevedore/other');
    const rules = (await checkLayers(root)).map((v) => `${v.rule} ${v.file}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'escape packages/image/src/sneaky.ts',
        'undeclared packages/image/src/undeclared.ts',
        'unknown-package packages/extra/package.json',
        'folder-name packages/misnamed/package.json',
      ]),
    );
  });

  it('keeps private helpers out of published code but allows them in tests', async () => {
    await validWorkspace();
    await write('packages/digest/src/uses.ts', "import { f } from '@stevedore-internal/fixtures';\n");
    await write('packages/digest/src/uses.test.ts', "import { f } from '@stevedore-internal/fixtures';\n");
    const internal = (await checkLayers(root)).filter((v) => v.rule === 'internal').map((v) => v.file);
    expect(internal).toEqual(['packages/digest/src/uses.ts']);
  });

  it('finds the real workspace clean', async () => {
    expect(await checkLayers(new URL('../../../', import.meta.url).pathname)).toEqual([]);
  });
});

describe('importsOf', () => {
  it('finds every kind of import and tells type-only ones', () => {
    const text = [
      "import a from 'a';",
      "import type { B } from 'b';",
      "export * from 'c';",
      "export type { D } from 'd';",
      "import 'e';",
      "const f = await import('f');",
      "const g = require('g');",
      "type H = import('h').H;",
      "// import 'commented';",
      'const s = "import \'in-a-string\'";',
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { specifier: 'a', typeOnly: false },
      { specifier: 'b', typeOnly: true },
      { specifier: 'c', typeOnly: false },
      { specifier: 'd', typeOnly: true },
      { specifier: 'e', typeOnly: false },
      { specifier: 'f', typeOnly: false },
      { specifier: 'g', typeOnly: false },
      { specifier: 'h', typeOnly: true },
    ]);
  });
});

describe('findCycles', () => {
  it('reports each cycle once', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'a']],
      ['c', ['a']],
      ['d', ['d']],
      ['e', []],
    ]);
    expect(findCycles(graph)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['a', 'b', 'a'],
      ['d', 'd'],
    ]);
  });
});
