// docs/EXAMPLES.md, run: every recipe's ```sh block with bash and the real `stevedore`
// binary, and its ```ts block with Node and the packages, each in a fresh directory
// against a local $REGISTRY seeded here and a fresh, empty $MIRROR; after each block the
// test checks what the recipe made. A recipe without a check, or a block that fails,
// fails its test.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTar } from '@stevedore/archive';
import { appendLayer, buildImage } from '@stevedore/build';
import { copy, readSource } from '@stevedore/copy';
import {
  assembleIndex,
  type Image,
  type ImageNode,
  type Index,
  imageLayers,
  memoryBlobSink,
} from '@stevedore/image';
import { formatPlatform } from '@stevedore/manifest';
import { exportFilesystem } from '@stevedore/mutate';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { RegistryClient } from '@stevedore/transport-registry';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type BlockRun,
  describeRun,
  parseRecipes,
  runShell,
  runTypeScript,
  writeStevedoreShim,
} from './examples-runner.ts';
import { needPeers, type Peer, runPeer } from './peers.ts';
import { freePort } from './registry.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'docs', 'EXAMPLES.md');
// Inside the workspace, so that a block's `@stevedore/*` imports resolve (gitignored).
const RUN_DIR = fileURLToPath(new URL(`../.examples-run/${randomUUID()}/`, import.meta.url));
const MAIN = join(
  dirname(createRequire(import.meta.url).resolve('@stevedore/cli/package.json')),
  'src',
  'main.ts',
);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const recipes = parseRecipes(await readFile(EXAMPLES, 'utf8'));

// ---------------------------------------------------------------------------------------
// $REGISTRY: alpine:3.20 and alpine:3.19 for three platforms, and an app on alpine:3.19.

const PLATFORMS = ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'] as const;
const text = (value: string) => new TextEncoder().encode(value);

interface Alpine {
  readonly index: Index;
  /** By platform, in PLATFORMS order. */
  readonly images: readonly Image[];
}

async function alpine(version: string): Promise<Alpine> {
  const images: Image[] = [];
  for (const platform of PLATFORMS) {
    images.push(
      await buildImage(
        [
          [
            { name: 'etc/alpine-release', type: 'file', content: text(`${version}\n`) },
            { name: 'bin/sh', type: 'file', content: text(`#!${platform}\n`), mode: 0o755 },
          ],
        ],
        {
          cmd: ['/bin/sh'],
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
          labels: { 'org.example.platform': platform },
        },
        { blobSink: memoryBlobSink, platform },
      ),
    );
  }
  return { images, index: await assembleIndex(images) };
}

const HELLO = '#!/bin/sh\necho hello\n';

let scratch: string;
let bin: string;
let registry: RunningServer;
let client: RegistryClient;
let alpine320: Alpine;
let alpine319: Alpine;
let app: Image;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-examples-'));
  bin = await writeStevedoreShim(process.execPath, MAIN);
  client = new RegistryClient({ credentials: async () => undefined });
  alpine320 = await alpine('3.20.0');
  alpine319 = await alpine('3.19.1');
  app = await appendLayer(
    alpine319.images[0] as Image,
    [{ name: 'usr/local/bin/hello', type: 'file', content: text(HELLO), mode: 0o755 }],
    { blobSink: memoryBlobSink },
  );
  // Seeded through a writable server, then served read-only: no recipe writes to $REGISTRY.
  const store = createMemoryStore();
  const seeding = await startServer({ store });
  try {
    const at = (name: string) => `docker://${seeding.host}/${name}`;
    await copy(alpine320.index, at('library/alpine:3.20'), { all: true, registry: client });
    await copy(alpine319.index, at('library/alpine:3.19'), { all: true, registry: client });
    await copy(app, at('team/app:v1'), { registry: client });
  } finally {
    await seeding.close();
  }
  registry = await startServer({ store, readOnly: true });
});

afterAll(async () => {
  await client?.close();
  await registry?.close();
  await rm(RUN_DIR, { recursive: true, force: true });
  await rmdir(dirname(RUN_DIR)).catch(() => {}); // when no other run uses it
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  if (bin !== undefined) await rm(bin, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// What the checks look at.

/** One block's run, for its recipe's check. */
interface Block {
  readonly kind: 'sh' | 'ts';
  /** The working directory it ran in. */
  readonly dir: string;
  readonly run: BlockRun;
  /** $MIRROR, $PORT and $DOCKER_CONFIG as the block had them. */
  readonly mirror: string;
  readonly port: number;
  readonly dockerConfig: string;
  readonly recipe: (typeof recipes)[number];
}

interface Check {
  /** Peers the check (or the recipe) needs. */
  readonly peers?: readonly Peer[];
  /** Creates the inputs the recipe expects in its working directory. */
  readonly prepare?: (dir: string) => Promise<void>;
  readonly verify: (block: Block) => Promise<void>;
}

const read = (endpoint: string): Promise<ImageNode> => readSource(endpoint, { registry: client });
const digestOf = (node: ImageNode) => node.manifest.digest.toString();
const layerDigests = (image: Image) => imageLayers(image).map((layer) => layer.descriptor.digest);

async function readImage(endpoint: string): Promise<Image> {
  const node = await read(endpoint);
  expect(node.kind, endpoint).toBe('image');
  return node as Image;
}

async function readIndex(endpoint: string): Promise<Index> {
  const node = await read(endpoint);
  expect(node.kind, endpoint).toBe('index');
  return node as Index;
}

function platformsOf(index: Index): string[] {
  return index.manifest.json.manifests.map((entry) =>
    entry.platform === undefined ? '?' : formatPlatform(entry.platform),
  );
}

/** Every blob an endpoint reaches, read and verified: a copy of all of it to a layout. */
async function copiesWhole(endpoint: string, dir: string): Promise<string> {
  const layout = join(dir, `check-${randomUUID()}`);
  return (await copy(endpoint, `oci:${layout}:check`, { all: true, registry: client })).digest;
}

/** The files of an image's effective filesystem: path → content. */
async function filesOf(image: Image): Promise<Map<string, { content: string; mode: number }>> {
  const files = new Map<string, { content: string; mode: number }>();
  for await (const entry of readTar(exportFilesystem(image))) {
    let content = '';
    const decoder = new TextDecoder();
    for await (const chunk of entry.content) content += decoder.decode(chunk, { stream: true });
    if (entry.type === 'file') files.set(entry.name, { content, mode: entry.mode });
  }
  return files;
}

const amd64 = () => alpine320.images[0] as Image;
const arm64 = () => alpine320.images[1] as Image;
const JWT = /^ey[\w-]+\.[\w-]+\.[\w-]+$/m;

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), content);
  }
}

const SITE = { 'index.html': '<h1>Hello from the site</h1>\n', 'css/site.css': 'body { margin: 0 }\n' };

/** What each recipe's ```sh block made, by digest, for its ```ts block to match. */
const printed = new Map<string, string>();

// ---------------------------------------------------------------------------------------
// The checks, by recipe title.

const CHECKS: Record<string, Check> = {
  'Mirror an image with all its platforms': {
    async verify({ mirror, dir, run }) {
      const source = digestOf(alpine320.index);
      const index = await readIndex(`docker://${mirror}/library/alpine:3.20`);
      expect(digestOf(index)).toBe(source);
      expect(platformsOf(index)).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
      expect(await copiesWhole(`docker://${mirror}/library/alpine:3.20`, dir)).toBe(source);
      expect(run.stdout).toContain(source);
    },
  },

  'Copy only two platforms': {
    async verify({ mirror, dir, kind }) {
      const index = await readIndex(`docker://${mirror}/library/alpine:3.20`);
      remember('two platforms', kind, digestOf(index));
      expect(platformsOf(index)).toEqual(['linux/amd64', 'linux/arm64/v8']);
      expect(index.children.map(digestOf)).toEqual([digestOf(amd64()), digestOf(arm64())]);
      expect(digestOf(index)).not.toBe(digestOf(alpine320.index));
      expect(await copiesWhole(`docker://${mirror}/library/alpine:3.20`, dir)).toBe(digestOf(index));
    },
  },

  'Build an image from a directory': {
    prepare: (dir) => writeTree(join(dir, 'site'), SITE),
    async verify({ mirror, kind, run }) {
      const image = await readImage(`docker://${mirror}/team/site:v1`);
      expect(image.config).toMatchObject({
        os: 'linux',
        architecture: 'amd64',
        config: {
          WorkingDir: '/site',
          Entrypoint: ['/bin/httpd', '-f', '-h', '/site'],
          Labels: { 'org.opencontainers.image.title': 'site' },
        },
      });
      expect(imageLayers(image)).toHaveLength(1);
      const files = await filesOf(image);
      expect(files.get('index.html')?.content).toBe(SITE['index.html']);
      expect(files.get('css/site.css')?.content).toBe(SITE['css/site.css']);
      expect(run.stdout).toContain(digestOf(image));
      remember('build', kind, digestOf(image));
    },
  },

  'Append a layer': {
    async prepare(dir) {
      await writeTree(join(dir, 'app'), { 'usr/local/bin/hello': HELLO });
      await chmod(join(dir, 'app', 'usr/local/bin/hello'), 0o755);
    },
    async verify({ mirror, kind }) {
      const image = await readImage(`docker://${mirror}/team/hello:v1`);
      remember('append', kind, digestOf(image));
      const layers = layerDigests(image);
      expect(layers).toHaveLength(2);
      expect(layers[0]).toBe(layerDigests(amd64())[0]);
      expect(image.config.config).toEqual(amd64().config.config);
      const files = await filesOf(image);
      expect(files.get('usr/local/bin/hello')).toEqual({ content: HELLO, mode: 0o755 });
      expect(files.get('etc/alpine-release')?.content).toBe('3.20.0\n');
    },
  },

  'Change the entrypoint and labels': {
    async verify({ mirror, kind }) {
      const image = await readImage(`docker://${mirror}/team/app:v1.0.0`);
      expect(image.config.config?.Cmd ?? []).toEqual([]);
      expect(image.config.config).toMatchObject({
        Entrypoint: ['/usr/local/bin/hello'],
        Labels: { 'org.example.platform': 'linux/amd64', 'org.opencontainers.image.version': '1.0.0' },
        Env: app.config.config?.Env,
      });
      expect(layerDigests(image)).toEqual(layerDigests(app));
      expect(image.config.rootfs).toEqual(app.config.rootfs);
      remember('mutate', kind, digestOf(image));
    },
  },

  Flatten: {
    async verify({ mirror, kind }) {
      const image = await readImage(`docker://${mirror}/team/app:v1-flat`);
      remember('flatten', kind, digestOf(image));
      expect(imageLayers(image)).toHaveLength(1);
      expect(image.config.rootfs.diff_ids).toHaveLength(1);
      expect(image.config.config).toEqual(app.config.config);
      const files = await filesOf(image);
      expect([...files.keys()].sort()).toEqual(['bin/sh', 'etc/alpine-release', 'usr/local/bin/hello']);
      expect(files.get('etc/alpine-release')?.content).toBe('3.19.1\n');
      expect(files.get('usr/local/bin/hello')?.content).toBe(HELLO);
    },
  },

  'Rebase onto a new base': {
    async verify({ mirror, kind }) {
      const image = await readImage(`docker://${mirror}/team/app:v1-alpine3.20`);
      expect(layerDigests(image)).toEqual([layerDigests(amd64())[0], layerDigests(app)[1]]);
      expect(image.config.config).toEqual(app.config.config);
      const files = await filesOf(image);
      expect(files.get('etc/alpine-release')?.content).toBe('3.20.0\n');
      expect(files.get('usr/local/bin/hello')?.content).toBe(HELLO);
      remember('rebase', kind, digestOf(image));
    },
  },

  'Export a docker-archive for `docker load`': {
    peers: ['skopeo', 'tar'],
    async verify({ dir }) {
      const archive = `docker-archive:${join(dir, 'alpine.tar')}:alpine:3.20`;
      const seen = JSON.parse(await runPeer('skopeo', ['inspect', archive])) as {
        Architecture: string;
        Os: string;
        Layers: string[];
      };
      expect(seen).toMatchObject({
        Architecture: 'arm64',
        Os: 'linux',
        Layers: arm64().config.rootfs.diff_ids,
      });
      // The config is the source's, byte for byte: docker load gives it the same image ID.
      const manifest = JSON.parse(await runPeer('skopeo', ['inspect', '--raw', archive])) as {
        config: { digest: string };
      };
      expect(manifest.config.digest).toBe(arm64().manifest.json.config.digest);
      const names = JSON.parse(
        await runPeer('tar', ['-xOf', join(dir, 'alpine.tar'), 'manifest.json']),
      ) as Array<{ RepoTags: string[] }>;
      expect(names.map((entry) => entry.RepoTags)).toEqual([['alpine:3.20']]);
    },
  },

  'Serve a registry with token auth': {
    async prepare(dir) {
      await writeFile(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('wonderland', 5)}\n`);
    },
    async verify({ kind, dir, run, port, dockerConfig }) {
      const host = `127.0.0.1:${port}`;
      const source = digestOf(alpine320.index);
      expect(run.stdout).toContain(source);
      expect(run.stdout).toMatch(JWT);
      if (kind === 'sh') {
        // Refused without a login, with the CLI's hint; stored after it.
        expect(run.stdout).toContain('refused: log in first');
        expect(run.stderr).toMatch(/401 UNAUTHORIZED/);
        expect(run.stderr).toContain(`hint: log in first: stevedore login ${host}`);
        expect(run.stdout).toContain('Login Succeeded');
        expect(run.stdout).toMatch(/^3\.20$/m);
        const config = JSON.parse(await readFile(join(dockerConfig, 'config.json'), 'utf8'));
        expect(Object.keys(config.auths)).toContain(host);
      } else {
        expect(run.stdout).toContain('anonymous: refused (401)');
        expect(run.stdout).toContain('login: bearer');
        expect(run.stdout).toContain("[ '3.20' ]");
      }
      // The server stopped; its store holds the whole index.
      const again = await startServer({ store: join(dir, 'registry') });
      try {
        expect(await copiesWhole(`docker://${again.host}/library/alpine:3.20`, dir)).toBe(source);
      } finally {
        await again.close();
      }
    },
  },

  'Publish a static registry to a web host': {
    peers: ['skopeo', 'nginx'],
    async verify({ kind, dir, run, recipe }) {
      const source = digestOf(alpine320.index);
      if (kind === 'sh') expect(run.stdout).toMatch(/^3\.20$/m);
      const snippet = recipe.blocks.find((block) => block.language === 'nginx')?.code;
      expect(snippet, 'the recipe shows an nginx server block').toBeDefined();
      await serveWithNginx(snippet as string, join(dir, 'site'), dir, async (host) => {
        const manifest = await fetch(`http://${host}/v2/library/alpine/manifests/3.20`);
        expect(manifest.headers.get('content-type')).toBe(alpine320.index.manifest.mediaType);
        await manifest.body?.cancel();
        const layout = join(dir, 'from-nginx');
        await runPeer('skopeo', [
          'copy',
          '--all',
          '--src-tls-verify=false',
          `docker://${host}/library/alpine:3.20`,
          `oci:${layout}:pulled`,
        ]);
        expect(digestOf(await read(`oci:${layout}:pulled`))).toBe(source);
        expect(await copiesWhole(`docker://${host}/library/alpine:3.20`, dir)).toBe(source);
      });
    },
  },

  'Sync a list of images': {
    async verify({ mirror, run }) {
      const full = await readIndex(`docker://${mirror}/library/alpine:3.20`);
      expect(digestOf(full)).toBe(digestOf(alpine320.index));
      expect(await client.listTags(`${mirror}/slim/alpine`)).toEqual(['3.19', '3.20']);
      for (const [tag, seeded] of [
        ['3.19', alpine319],
        ['3.20', alpine320],
      ] as const) {
        const slim = await readIndex(`docker://${mirror}/slim/alpine:${tag}`);
        expect(platformsOf(slim)).toEqual(['linux/amd64', 'linux/arm64/v8']);
        expect(slim.children.map(digestOf)).toEqual(seeded.images.slice(0, 2).map(digestOf));
      }
      expect(digestOf(await readImage(`docker://${mirror}/team/app:v1`))).toBe(digestOf(app));
      expect(run.stdout.match(/^ok /gm)).toHaveLength(4);
    },
  },

  'Inspect the config of the arm64 variant': {
    async verify({ run }) {
      const config = JSON.parse(run.stdout);
      expect(config).toEqual(arm64().config);
      expect(config).toMatchObject({
        architecture: 'arm64',
        variant: 'v8',
        config: { Labels: { 'org.example.platform': 'linux/arm64/v8' } },
      });
    },
  },
};

/** The shell and library ways of a recipe make the same image. */
function remember(name: string, kind: 'sh' | 'ts', digest: string): void {
  if (kind === 'sh') printed.set(name, digest);
  else expect(digest, `${name}: the library makes what the CLI made`).toBe(printed.get(name));
}

// ---------------------------------------------------------------------------------------
// nginx in the foreground on a free loopback port, with the recipe's server block.

async function serveWithNginx(
  snippet: string,
  site: string,
  dir: string,
  use: (host: string) => Promise<void>,
): Promise<void> {
  const nginxDir = join(dir, 'nginx');
  await mkdir(nginxDir, { recursive: true });
  const port = await freePort();
  // The recipe's block as written, on this machine: a free port, the tree the block wrote.
  const server = snippet.replace(/listen 80;/, `listen 127.0.0.1:${port};`).replaceAll('/srv/site', site);
  expect(server, 'the server block listens on port 80').toContain(`listen 127.0.0.1:${port};`);
  expect(server, 'the server block serves /srv/site').toContain(`include ${site}/static-nginx.conf;`);
  const config = join(nginxDir, 'nginx.conf');
  await writeFile(
    config,
    [
      'worker_processes 1;',
      `pid ${join(nginxDir, 'nginx.pid')};`,
      // As root the workers would run as nobody, who cannot enter the test's directories.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (temp) => `  ${temp}_temp_path ${join(nginxDir, temp)};`,
      ),
      server,
      '}',
      '',
    ].join('\n'),
  );
  const nginx = spawn(
    'nginx',
    ['-p', nginxDir, '-c', config, '-e', join(nginxDir, 'error.log'), '-g', 'daemon off;'],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  const host = `127.0.0.1:${port}`;
  try {
    for (let attempt = 0; ; attempt++) {
      const ping = await fetch(`http://${host}/v2/`).catch(() => undefined);
      await ping?.body?.cancel();
      if (ping?.ok) break;
      if (attempt > 100 || nginx.exitCode !== null) {
        const log = await readFile(join(nginxDir, 'error.log'), 'utf8').catch(() => '');
        throw new Error(`nginx did not start: ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await use(host);
  } finally {
    if (nginx.exitCode === null) nginx.kill('SIGQUIT');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------
// The tests: one per recipe, named after it.

it('every recipe of docs/EXAMPLES.md has a check, and every check a recipe', () => {
  expect(recipes.map((recipe) => recipe.title)).toEqual(Object.keys(CHECKS));
});

for (const recipe of recipes) {
  it(recipe.title, { timeout: 60_000 }, async (context) => {
    const check = CHECKS[recipe.title];
    if (check === undefined) throw new Error(`no check for the recipe "${recipe.title}"`);
    if (check.peers !== undefined && !(await needPeers(context, ...check.peers))) return;
    for (const kind of ['sh', 'ts'] as const) {
      const dir = await mkdtemp(join(scratch, `${kind}-`));
      const dockerConfig = await mkdtemp(join(scratch, 'docker-config-'));
      await check.prepare?.(dir);
      const mirror = await startServer({ store: createMemoryStore() });
      const port = await freePort();
      try {
        const env = {
          ...process.env,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          REGISTRY: registry.host,
          MIRROR: mirror.host,
          PORT: String(port),
          DOCKER_CONFIG: dockerConfig,
        };
        const run =
          kind === 'sh'
            ? await runShell(recipe.sh, { cwd: dir, env })
            : await runTypeScript(recipe.ts, RUN_DIR, process.execPath, { cwd: dir, env });
        expect(run.code, describeRun(`the \`\`\`${kind} block`, run)).toBe(0);
        await check.verify({ kind, dir, run, mirror: mirror.host, port, dockerConfig, recipe });
      } finally {
        await mirror.close();
      }
    }
  });
}

it('every ```ts block type-checks', { timeout: 60_000 }, async () => {
  const dir = join(RUN_DIR, 'typecheck');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../../../tsconfig.json', include: ['*.mts'] }),
  );
  for (const [position, recipe] of recipes.entries()) {
    await writeFile(join(dir, `recipe-${position + 1}.mts`), recipe.ts);
  }
  const checked = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const tsc = spawn(process.execPath, [TSC, '--noEmit', '-p', join(dir, 'tsconfig.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    tsc.stdout.on('data', (chunk) => {
      output += chunk;
    });
    tsc.stderr.on('data', (chunk) => {
      output += chunk;
    });
    tsc.once('close', (code) => resolve({ code, output }));
  });
  // recipe-N.mts is the Nth recipe's block.
  expect(checked.output).toBe('');
  expect(checked.code).toBe(0);
});
