// Checks the layer rule of DESIGN.md over the workspace: no package imports a package on
// its own or a higher layer, no import leaves its package by a relative path, published
// code does not import private helpers, and no modules or packages import in a cycle.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { LAYERS, PUBLISHED_SCOPE } from './layers.ts';

/** One broken rule, with the file and the import that broke it. */
export interface Violation {
  readonly rule: 'layer' | 'unknown-package' | 'folder-name' | 'escape' | 'internal' | 'undeclared' | 'cycle';
  readonly file: string;
  readonly message: string;
}

interface WorkspacePackage {
  readonly name: string;
  readonly dir: string;
  readonly manifest: {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
}

const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;
const TEST = /\.test\.[cm]?tsx?$|\/test\//;

/** Runs every check on the workspace at `root` and returns what it found, in a stable order. */
export async function checkLayers(root: string, layers = LAYERS): Promise<Violation[]> {
  const violations: Violation[] = [];
  const packages = await readPackages(join(root, 'packages'));
  const packageEdges = new Map<string, Set<string>>();

  for (const pkg of packages) {
    const rel = (file: string) => relative(root, file);
    const own = layers[pkg.name];
    if (own === undefined) {
      violations.push({
        rule: 'unknown-package',
        file: rel(join(pkg.dir, 'package.json')),
        message: `${pkg.name} has no layer; add it to internal/checks/src/layers.ts and DESIGN.md`,
      });
    }
    if (pkg.name !== `${PUBLISHED_SCOPE}${basename(pkg.dir)}`) {
      violations.push({
        rule: 'folder-name',
        file: rel(join(pkg.dir, 'package.json')),
        message: `the folder of ${pkg.name} must be named after it (packages/${pkg.name.replace(/^@[^/]+\//, '')})`,
      });
    }
    const edges = new Set<string>();
    packageEdges.set(pkg.name, edges);
    const declared = { ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies };
    const declaredForTests = { ...declared, ...pkg.manifest.devDependencies };
    const moduleGraph = new Map<string, string[]>();

    for (const file of await listSources(pkg.dir)) {
      const isTest = TEST.test(file);
      const targets: string[] = [];
      moduleGraph.set(file, targets);
      for (const { specifier, typeOnly } of importsOf(await readFile(file, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
          if (!target.startsWith(`${pkg.dir}/`)) {
            violations.push({
              rule: 'escape',
              file: rel(file),
              message: `${specifier} reaches outside ${pkg.name}; import the other package by name`,
            });
          }
          // Type-only imports are erased, so they cannot make a cycle at run time.
          if (!typeOnly) targets.push(target);
          continue;
        }
        const name = packageName(specifier);
        if (name === undefined) continue;
        if (!name.startsWith(PUBLISHED_SCOPE)) {
          if (name.startsWith('@stevedore-internal/') && !isTest) {
            violations.push({
              rule: 'internal',
              file: rel(file),
              message: `${name} is a private helper; published code must not import it`,
            });
          }
          continue;
        }
        const target = layers[name];
        if (name !== pkg.name) edges.add(name);
        if (own !== undefined && target !== undefined && target >= own) {
          violations.push({
            rule: 'layer',
            file: rel(file),
            message: `${pkg.name} (layer ${own}) imports ${name} (layer ${target}); only lower layers may be imported`,
          });
        }
        if (name !== pkg.name && !(name in (isTest ? declaredForTests : declared))) {
          violations.push({
            rule: 'undeclared',
            file: rel(file),
            message: `${pkg.name} imports ${name} but does not declare it in ${isTest ? 'devDependencies or ' : ''}dependencies`,
          });
        }
      }
    }
    for (const cycle of findCycles(moduleGraph)) {
      violations.push({
        rule: 'cycle',
        file: rel(cycle[0] ?? pkg.dir),
        message: `modules import each other in a cycle: ${cycle.map(rel).join(' → ')}`,
      });
    }
  }
  for (const cycle of findCycles(mapValues(packageEdges))) {
    violations.push({
      rule: 'cycle',
      file: 'packages',
      message: `packages import each other in a cycle: ${cycle.join(' → ')}`,
    });
  }
  return violations;
}

/** A module a source file imports; `typeOnly` imports are erased from the JavaScript. */
export interface ImportReference {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** Every import of a source file: static, re-export, dynamic, `require`, and `import('x').T` types. */
export function importsOf(text: string): ImportReference[] {
  const source = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ImportReference[] = [];
  const add = (node: ts.Node | undefined, typeOnly: boolean) => {
    if (node !== undefined && ts.isStringLiteralLike(node)) found.push({ specifier: node.text, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('#')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

async function readPackages(dir: string): Promise<WorkspacePackage[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const packages: WorkspacePackage[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const pkgDir = join(dir, entry.name);
    const text = await readFile(join(pkgDir, 'package.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const manifest = JSON.parse(text) as WorkspacePackage['manifest'] & { name: string };
    packages.push({ name: manifest.name, dir: pkgDir, manifest });
  }
  return packages;
}

async function listSources(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (!entry.isFile() || !SOURCE.test(entry.name) || /\/(?:node_modules|dist)\//.test(path)) continue;
    if (path.includes('/test/fixtures/')) continue;
    files.push(path);
  }
  return files.sort();
}

/** Every elementary cycle's first occurrence, found by depth-first search; each cycle listed once. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const key = [...cycle.slice(0, -1)].sort().join('\0');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

function mapValues(edges: Map<string, Set<string>>): Map<string, string[]> {
  return new Map([...edges].map(([key, value]) => [key, [...value].sort()]));
}
