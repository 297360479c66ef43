import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy, readSource } from '@stevedore/copy';
import { assembleIndex, type Image, imageDigest } from '@stevedore/image';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCapturing } from '../run-cli.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

let scratch: string;
let server: RunningServer;
let amd: Image;
let arm: Image;
let s390x: Image;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-index-'));
  server = await startServer({ store: createMemoryStore() });
  amd = await smallImage('index amd', 'amd64');
  arm = await smallImage('index arm', 'arm64', 'v8');
  s390x = await smallImage('index s390x', 's390x');
  await copy(amd, `docker://${server.host}/app:amd`);
  await copy(arm, `docker://${server.host}/app:arm`);
});
afterEach(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const digestOf = (image: Image) => imageDigest(image).toString();

describe('stevedore index', () => {
  it('creates an index of images with the platforms of their configs, and lists it', async () => {
    const created = await stevedore(
      'index',
      'create',
      '--annotation',
      'org.opencontainers.image.version=1.0',
      `${server.host}/app:v1`,
      `${server.host}/app:amd`,
      `${server.host}/app:arm`,
    );
    expect(created.code).toBe(0);
    const expected = await assembleIndex([amd, arm], {
      annotations: { 'org.opencontainers.image.version': '1.0' },
    });
    expect(created.stdout).toBe(`${imageDigest(expected)}\n`);
    expect((await stevedore('digest', `${server.host}/app:v1`)).stdout).toBe(created.stdout);

    const listed = await stevedore('index', 'list', `${server.host}/app:v1`);
    expect(listed.stdout).toBe(
      [
        `linux/amd64     ${digestOf(amd)}  ${amd.manifest.size} B`,
        `linux/arm64/v8  ${digestOf(arm)}  ${arm.manifest.size} B`,
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await stevedore('index', 'list', '--json', `${server.host}/app:v1`)).stdout);
    expect(json).toEqual([
      {
        platform: 'linux/amd64',
        digest: digestOf(amd),
        size: amd.manifest.size,
        mediaType: amd.manifest.mediaType,
      },
      {
        platform: 'linux/arm64/v8',
        digest: digestOf(arm),
        size: arm.manifest.size,
        mediaType: arm.manifest.mediaType,
      },
    ]);
  });

  it('creates into a layout from any endpoints, flattening an index given as an image', async () => {
    const layout = join(scratch, 'layout');
    await copy(s390x, `oci:${layout}:s390x`);
    await copy(await assembleIndex([amd, arm]), `oci:${layout}:pair`, { all: true });
    const created = await stevedore(
      'index',
      'create',
      '--json',
      `oci:${layout}:three`,
      `oci:${layout}:pair`,
      `oci:${layout}:s390x`,
      `${server.host}/app:amd`, // listed already, through the pair: left out
    );
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result.destination).toBe(`oci:${layout}:three`);
    expect(result.manifests.map((entry: { platform: string }) => entry.platform)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
      'linux/s390x',
    ]);
    const read = await readSource(`oci:${layout}:three`);
    expect(read.kind === 'index' && read.children.map((child) => child.manifest.digest.toString())).toEqual([
      digestOf(amd),
      digestOf(arm),
      digestOf(s390x),
    ]);
    expect(read.manifest.digest.toString()).toBe(result.digest);
  });

  it('appends to an index in place or to --to, keeping its entries and annotations', async () => {
    await stevedore(
      'index',
      'create',
      '--annotation',
      'a=1',
      `${server.host}/app:v1`,
      `${server.host}/app:amd`,
    );
    const layout = join(scratch, 'layout');
    await copy(s390x, `oci:${layout}:s390x`);

    const appended = await stevedore(
      'index',
      'append',
      '--annotation',
      'b=2',
      `${server.host}/app:v1`,
      `${server.host}/app:arm`,
      `oci:${layout}:s390x`,
    );
    expect(appended.code).toBe(0);
    const expected = await assembleIndex([amd, arm, s390x], { annotations: { a: '1', b: '2' } });
    expect(appended.stdout).toBe(`${imageDigest(expected)}\n`);
    expect((await stevedore('digest', `${server.host}/app:v1`)).stdout).toBe(appended.stdout);

    // Again with one listed already: left out, and said so; written elsewhere.
    const again = await stevedore(
      'index',
      'append',
      `${server.host}/app:v1`,
      `${server.host}/app:arm`,
      '--to',
      `oci:${layout}:v1`,
    );
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${digestOf(arm)} (${server.host}/app:arm) is listed already`);
    expect(again.stdout).toBe(appended.stdout);
    expect((await stevedore('index', 'list', `oci:${layout}:v1`)).stdout.split('\n')).toHaveLength(4);

    // An IMAGE that cannot be read: nothing is written.
    const missing = await stevedore(
      'index',
      'create',
      `oci:${join(scratch, 'new')}:v1`,
      `${server.host}/app:amd`,
      `${server.host}/app:nope`,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stevedore: ERR_REGISTRY_RESPONSE: .*404/);
    expect(await stat(join(scratch, 'new')).catch(() => undefined)).toBeUndefined();

    const onImage = await stevedore('index', 'append', `${server.host}/app:amd`, `${server.host}/app:arm`);
    expect(onImage.code).toBe(1);
    expect(onImage.stderr).toMatch(
      /^stevedore: ERR_CLI_INPUT: .*app:amd is an image .*not an index\nhint: make an index/,
    );
  });

  it('filters an index to the platforms --platform names, written to --to', async () => {
    const index = await assembleIndex([amd, arm, s390x]);
    await copy(index, `docker://${server.host}/app:all`, { all: true });
    const layout = join(scratch, 'layout');
    const filtered = await stevedore(
      'index',
      'filter',
      '--platform',
      'linux/arm64',
      '--platform',
      'linux/s390x',
      `${server.host}/app:all`,
      '--to',
      `oci:${layout}:slim`,
    );
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).toBe(`${imageDigest(await assembleIndex([arm, s390x]))}\n`);
    const listed = (await stevedore('index', 'list', `oci:${layout}:slim`)).stdout;
    expect(listed).toContain(`linux/arm64/v8  ${digestOf(arm)}`);
    expect(listed).toContain(`linux/s390x     ${digestOf(s390x)}`);
    expect(listed).not.toContain('amd64');
    // One platform still makes an index.
    const one = await stevedore(
      'index',
      'filter',
      '--platform',
      'linux/amd64',
      `${server.host}/app:all`,
      '--to',
      `${server.host}/app:amd-only`,
    );
    expect(one.stdout).toBe(`${imageDigest(await assembleIndex([amd]))}\n`);

    const none = await stevedore(
      'index',
      'filter',
      '--platform',
      'windows/amd64',
      `${server.host}/app:all`,
      '--to',
      `oci:${layout}:none`,
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^stevedore: ERR_NO_MATCH: /);
    expect((await stevedore('ls', `oci:${layout}`)).stdout).toBe('slim\n');
  });

  it('answers a wrong subverb, arguments or flags with exit 2 before reading anything', async () => {
    const layout = join(scratch, 'layout');
    const cases: Array<[string[], string]> = [
      [['index', 'make', 'a', 'b'], 'unknown index subverb "make": expected create, append, filter, list'],
      [
        ['index', 'create', `oci:${layout}:x`],
        'index create TARGET IMAGE...: expected at least 2 arguments after create, got 1',
      ],
      [['index', 'list', 'a', 'b'], 'index list INDEX: expected 1 argument after list, got 2'],
      [['index', 'filter', 'a', '--to', `oci:${layout}:x`], 'index filter needs --platform'],
      [['index', 'filter', '--platform', 'linux/amd64', 'a'], 'index filter needs --to ENDPOINT'],
      [['index', 'filter', '--all', 'a', '--to', 'b'], 'index filter takes no --all'],
      [['index', 'create', '--to', 'x', `oci:${layout}:x`, 'a'], 'index create takes no --to'],
      [['index', 'list', '--annotation', 'a=b', 'a'], 'index list takes no --annotation'],
      [
        ['index', 'create', '--platform', 'linux/amd64', `oci:${layout}:x`, 'a'],
        'index create takes no --platform',
      ],
      [
        ['index', 'create', '--annotation', 'novalue', `oci:${layout}:x`, `${server.host}/app:amd`],
        '--annotation takes KEY=VALUE, got "novalue"',
      ],
      [['index'], 'index takes at least 2 arguments'],
    ];
    for (const [argv, message] of cases) {
      const run = await stevedore(...argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toContain(message);
      expect(run.stderr, argv.join(' ')).toContain('hint: see "stevedore index --help"');
    }
    expect(await stat(layout).catch(() => undefined)).toBeUndefined();
  });
});
