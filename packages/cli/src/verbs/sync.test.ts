import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '@stevedore/copy';
import { assembleIndex, imageDigest } from '@stevedore/image';
import { createMemoryStore, type RunningServer, startServer } from '@stevedore/server';
import { smallImage } from '@stevedore-internal/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCapturing } from '../run-cli.ts';
import { parseSyncFile } from './sync.ts';

/** A run of the command line in this process, its output captured. */
const stevedore = (...argv: string[]) => runCliCapturing(argv);

let scratch: string;
let server: RunningServer;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-sync-'));
  server = await startServer({ store: createMemoryStore() });
});
afterEach(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A layout with images tagged v1.0.0, v1.1.0, v2.0.0 and latest; their digests by tag. */
async function taggedLayout(): Promise<{ layout: string; digests: Record<string, string> }> {
  const layout = join(scratch, 'layout');
  const digests: Record<string, string> = {};
  for (const tag of ['v1.0.0', 'v1.1.0', 'v2.0.0', 'latest']) {
    digests[tag] = (await copy(await smallImage(`sync ${tag}`), `oci:${layout}:${tag}`)).digest;
  }
  return { layout, digests };
}

describe('stevedore sync', () => {
  it('runs the jobs of a YAML file: one image, and the tags a filter selects', async () => {
    const { layout, digests } = await taggedLayout();
    const file = join(scratch, 'mirror.yaml');
    await writeFile(
      file,
      [
        '# one image, and the newest v1 release',
        'jobs:',
        `  - source: oci:${layout}:latest`,
        `    destination: ${server.host}/app:latest`,
        `  - source: oci:${layout}`,
        `    destination: ${server.host}/app`,
        "    tags: { match: '^v1\\.', newest: 1 }",
        `  - source: oci:${layout}`,
        `    destination: ${server.host}/none`,
        "    tags: { match: '^v9\\.' }",
        '',
      ].join('\n'),
    );
    const run = await stevedore('sync', file);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`sync: jobs[2] (oci:${layout}): the tag filter selected nothing to copy`);
    expect(run.stdout).toBe(
      [
        `ok      oci:${layout}:latest -> docker://${server.host}/app:latest ${digests.latest}`,
        `ok      oci:${layout}:v1.1.0 -> docker://${server.host}/app:v1.1.0 ${digests['v1.1.0']}`,
        '',
      ].join('\n'),
    );
    expect(run.stderr).toMatch(/^sync: \d+\/\d+ blobs/m); // progress on stderr
    expect((await stevedore('ls', `${server.host}/app`)).stdout).toBe('latest\nv1.1.0\n');
    expect((await stevedore('digest', `${server.host}/app:v1.1.0`)).stdout).toBe(`${digests['v1.1.0']}\n`);
  });

  it('reads JSON too, takes platforms per job, and prints the results with --json', async () => {
    const amd = await smallImage('sync amd', 'amd64');
    const arm = await smallImage('sync arm', 'arm64', 'v8');
    const index = await assembleIndex([amd, arm]);
    const layout = join(scratch, 'multi');
    await copy(index, `oci:${layout}:multi`, { all: true });
    const file = join(scratch, 'mirror.json');
    await writeFile(
      file,
      JSON.stringify({
        jobs: [
          {
            source: `oci:${layout}:multi`,
            destination: `${server.host}/multi:arm`,
            platforms: ['linux/arm64'],
          },
          { source: `oci:${layout}:multi`, destination: `${server.host}/multi:all`, all: true },
          {
            source: `oci:${layout}:multi`,
            destination: `oci:${join(scratch, 'out')}:two`,
            platforms: ['linux/amd64', 'linux/arm64'],
          },
        ],
      }),
    );
    const run = await stevedore('sync', '--json', file);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(''); // --json: no progress
    const results = JSON.parse(run.stdout);
    expect(results).toEqual([
      {
        job: 0,
        source: `oci:${layout}:multi`,
        destination: `docker://${server.host}/multi:arm`,
        ok: true,
        digest: imageDigest(arm).toString(),
      },
      {
        job: 1,
        source: `oci:${layout}:multi`,
        destination: `docker://${server.host}/multi:all`,
        ok: true,
        digest: imageDigest(index).toString(),
      },
      {
        job: 2,
        source: `oci:${layout}:multi`,
        destination: `oci:${join(scratch, 'out')}:two`,
        ok: true,
        digest: expect.stringMatching(/^sha256:/),
      },
    ]);
    // Two platforms of two make a new index of both: the same one.
    expect(results[2].digest).toBe(imageDigest(index).toString());
  });

  it('goes on past a failing image, prints it, and exits 1', async () => {
    const { layout, digests } = await taggedLayout();
    const file = join(scratch, 'mirror.yaml');
    await writeFile(
      file,
      `jobs:\n  - { source: oci:${layout}:nope, destination: ${server.host}/app:nope }\n  - { source: oci:${layout}:v2.0.0, destination: ${server.host}/app:v2 }\n`,
    );
    // --insecure: the file's registries over plain HTTP (a client of the sync's own, closed after).
    const run = await stevedore('sync', '--quiet', '--insecure', file);
    expect(run.code).toBe(1);
    const [failed, ok] = run.stdout.split('\n');
    expect(failed).toMatch(
      new RegExp(`^failed  oci:${layout}:nope -> docker://${server.host}/app:nope: ERR_TAG_NOT_FOUND: `),
    );
    expect(ok).toBe(`ok      oci:${layout}:v2.0.0 -> docker://${server.host}/app:v2 ${digests['v2.0.0']}`);
    expect(run.stderr).toBe('stevedore: ERR_SYNC_FAILED: 1 of 2 images failed to copy (see above)\n');
    expect((await stevedore('ls', `${server.host}/app`)).stdout).toBe('v2\n');
  });

  it('refuses a bad file naming the field, with exit 1 and nothing copied', async () => {
    const { layout } = await taggedLayout();
    const out = join(scratch, 'out');
    const good = `  - { source: oci:${layout}:latest, destination: oci:${out}:latest }`;
    const cases: Array<[string, RegExp]> = [
      ['jobs:\n  - source: [unclosed\n', /bad\.yaml is not valid YAML \(line 3, column 1\): /],
      [
        'jobs:\n  - source: a\n    source: b\n',
        /is not valid YAML \(line 3, column 5\): Map keys must be unique$/m,
      ],
      ['- just a list\n', /: the file: expected a mapping with jobs, got \["just a list"\]/],
      ['jobs: []\n', /: jobs: expected at least one job/],
      ['jobs:\n  - { destination: oci:x }\n', /: jobs\[0\]\.source: expected an endpoint/],
      [
        `jobs:\n${good}\n  - { source: 42, destination: oci:x }\n`,
        /: jobs\[1\]\.source: expected an endpoint .*got 42/,
      ],
      [
        `jobs:\n${good}\n  - { source: 'bad name', destination: oci:x }\n`,
        /: jobs\[1\]\.source: invalid endpoint "docker:\/\/bad name"/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destiantion: oci:y }\n`,
        /: jobs\[1\]\.destiantion: unknown field/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, tags: { newest: 0 } }\n`,
        /: jobs\[1\]\.tags\.newest: expected a positive integer, got 0/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, tags: { match: '(' } }\n`,
        /: jobs\[1\]\.tags\.match: "\(" is not a regular expression/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, tags: some }\n`,
        /: jobs\[1\]\.tags: expected all or \{ match: REGEX, newest: N \}/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, all: true, platforms: [linux/amd64] }\n`,
        /: jobs\[1\]: all and platforms exclude each other/,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, platforms: [linux] }\n`,
        /: jobs\[1\]\.platforms\[0\]: /,
      ],
      [
        `jobs:\n${good}\n  - { source: oci:x, destination: oci:y, all: yes please }\n`,
        /: jobs\[1\]\.all: expected true or false/,
      ],
      // Checked by sync itself before any copy: a repository with a tag.
      [
        `jobs:\n${good}\n  - { source: 'oci:${layout}:v1.0.0', destination: oci:y, tags: all }\n`,
        /: jobs\[1\]\.source .*drop the tag "v1\.0\.0"/,
      ],
    ];
    for (const [content, message] of cases) {
      const file = join(scratch, 'bad.yaml');
      await writeFile(file, content);
      const run = await stevedore('sync', file);
      expect(run.code, content).toBe(1);
      expect(run.stdout, content).toBe('');
      expect(run.stderr, content).toMatch(/^stevedore: ERR_CLI_INPUT: /);
      expect(run.stderr, content).toMatch(message);
      expect(await stat(out).catch(() => undefined), content).toBeUndefined();
    }
    const json = join(scratch, 'bad.json');
    await writeFile(json, '{ "jobs": [ }');
    expect((await stevedore('sync', json)).stderr).toMatch(
      /^stevedore: ERR_CLI_INPUT: .*bad\.json is not valid JSON/,
    );
    const missing = await stevedore('sync', join(scratch, 'no-such.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^stevedore: ERR_CLI_INPUT: cannot read the sync file .*\nhint: check the path\n$/,
    );
    expect((await stevedore('sync')).code).toBe(2);
  });

  it('parses the documented file format onto sync jobs', () => {
    expect(
      parseSyncFile(
        {
          jobs: [
            { source: 'alpine', destination: 'oci:./a', tags: { match: '^3\\.', newest: 2 }, all: true },
            { source: 'oci:./a:x', destination: 'dir:./b', platforms: ['linux/arm64/v8'], referrers: true },
            { source: 'oci:./a', destination: 'oci:./c', tags: 'all' },
          ],
        },
        'f.yaml',
      ),
    ).toEqual({
      jobs: [
        { source: 'alpine', destination: 'oci:./a', tags: { match: '^3\\.', newest: 2 }, all: true },
        { source: 'oci:./a:x', destination: 'dir:./b', platforms: ['linux/arm64/v8'], referrers: true },
        { source: 'oci:./a', destination: 'oci:./c', tags: 'all' },
      ],
    });
    expect(() => parseSyncFile({ jobs: [], extra: 1 }, 'f.yaml')).toThrow('f.yaml: extra: unknown field');
  });
});
