import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GLOBAL_FLAGS } from '../global-options.ts';
import { runCliCapturing } from '../run-cli.ts';
import type { VerbSpec } from '../verb.ts';
import { VERBS } from '../verbs.ts';
import { type CompletionShell, completionScript } from './completion.ts';

const run = promisify(execFile);

/** Whether a shell is installed (bash always is; zsh and fish may not be). */
function installed(shell: string): boolean {
  return spawnSync(shell, ['--version']).error === undefined;
}

const stevedore = (...argv: string[]) => runCliCapturing(argv);

/** A verb no real one is like: a description full of what shells quote, a choice flag. */
const ODD: VerbSpec = {
  name: 'frobnicate',
  aliases: ['frob'],
  summary: `it's [odd]: "quoted" $HOME \`date\` \\ done`,
  usage: 'fast|slow IMAGE',
  description: 'A verb for tests.',
  arguments: [2, 2],
  flags: {
    'frob-level': {
      type: 'string',
      short: 'F',
      value: 'low|high',
      description: `how much [really]: it's "$HOME"`,
    },
    'frob-file': { type: 'string', value: 'FILE', description: 'a file' },
    gentle: { type: 'boolean', description: 'be gentle' },
  },
  examples: [],
  load: async () => async () => {},
};

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stevedore-completion-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function saved(shell: CompletionShell, verbs: readonly VerbSpec[] = [...VERBS, ODD]): Promise<string> {
  const file = join(scratch, `stevedore.${shell}`);
  await writeFile(file, completionScript(shell, verbs));
  return file;
}

/** What the bash script completes `words` (the last one being completed) to. */
async function bashCompletes(script: string, ...words: string[]): Promise<string[]> {
  const quoted = words.map((word) => `'${word}'`).join(' ');
  const { stdout } = await run('bash', [
    '-c',
    `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _stevedore; printf '%s\\n' "\${COMPREPLY[@]}"`,
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

/** What fish completes a command line to (the candidates, without descriptions). */
async function fishCompletes(script: string, line: string): Promise<string[]> {
  const { stdout } = await run('fish', ['--no-config', '-c', `source '${script}'; complete -C '${line}'`]);
  return stdout
    .split('\n')
    .filter((each) => each !== '')
    .map((each) => each.split('\t')[0] ?? '');
}

describe('completion', () => {
  it('prints each shell a script naming every verb, alias and flag, the global ones included', async () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const { code, stdout, stderr } = await stevedore('completion', shell);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toBe(completionScript(shell, VERBS));
      for (const verb of VERBS) {
        for (const name of [verb.name, ...(verb.aliases ?? [])]) {
          expect(stdout, `${shell}: ${name}`).toMatch(new RegExp(`(^|[\\s'(|])${name}([\\s':)|]|$)`, 'm'));
        }
        for (const [flag, spec] of Object.entries({ ...GLOBAL_FLAGS, ...verb.flags })) {
          if (shell === 'fish') {
            expect(stdout, `${verb.name} --${flag}`).toContain(`-l ${flag} `);
            if (spec.short !== undefined) expect(stdout).toContain(`-s ${spec.short} `);
          } else {
            expect(stdout, `${shell}: ${verb.name} --${flag}`).toMatch(new RegExp(`--${flag}[\\s'=\\[}]`));
            if (spec.short !== undefined) expect(stdout).toMatch(new RegExp(`-${spec.short}[\\s'+,]`));
          }
        }
      }
    }
    // The script itself, also with --json.
    expect((await stevedore('completion', '--json', 'fish')).stdout).toBe(completionScript('fish', VERBS));
  });

  it('refuses a shell it has no script for (exit 2)', async () => {
    const answer = await stevedore('completion', 'powershell');
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain('completion takes bash, zsh, fish, got "powershell"');
  });

  it('writes bash that bash reads, completing verbs, flags, choices and arguments from the verbs given', async () => {
    const script = await saved('bash');
    await run('bash', ['-n', script]); // throws on a syntax error
    expect(await bashCompletes(script, 'stevedore', 'co')).toEqual(['copy', 'config', 'completion']);
    expect(await bashCompletes(script, 'stevedore', 'fro')).toEqual(['frobnicate', 'frob']);
    expect(await bashCompletes(script, 'stevedore', '--v')).toEqual(['--version']);
    expect(await bashCompletes(script, 'stevedore', 'help', 'log')).toEqual(['login', 'logout']);
    expect(await bashCompletes(script, 'stevedore', 'cp', '--re')).toEqual(['--referrers']);
    expect(await bashCompletes(script, 'stevedore', 'frob', '--frob-')).toEqual([
      '--frob-level',
      '--frob-file',
    ]);
    expect(await bashCompletes(script, 'stevedore', 'login', '--pa')).toEqual([
      '--password',
      '--password-stdin',
    ]);
    expect(await bashCompletes(script, 'stevedore', 'frob', '--con')).toEqual(['--concurrency']); // global
    // flag values: choices, also after "=" and for the short name; platforms
    expect(await bashCompletes(script, 'stevedore', 'frobnicate', '--frob-level', '')).toEqual([
      'low',
      'high',
    ]);
    expect(await bashCompletes(script, 'stevedore', 'frob', '-F', 'h')).toEqual(['high']);
    expect(await bashCompletes(script, 'stevedore', 'frob', '--frob-level', '=', 'l')).toEqual(['low']);
    expect(await bashCompletes(script, 'stevedore', 'copy', '--platform', 'linux/arm6')).toEqual([
      'linux/arm64',
      'linux/arm64/v8',
    ]);
    // the first argument's choices, flags and their values skipped; then file names (none here)
    expect(await bashCompletes(script, 'stevedore', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(await bashCompletes(script, 'stevedore', 'auth', '--push', 't')).toEqual(['token']);
    expect(await bashCompletes(script, 'stevedore', 'frob', '--frob-level', 'low', 's')).toEqual(['slow']);
    expect(await bashCompletes(script, 'stevedore', 'frob', '--frob-level', '=', 'low', 'f')).toEqual([
      'fast',
    ]);
    expect(await bashCompletes(script, 'stevedore', 'auth', 'token', 't')).toEqual([]);
  });

  it('writes zsh that zsh reads and registers with compinit', async (context) => {
    if (!installed('zsh')) {
      // As every peer (DESIGN.md): missing in CI is a failure (.ci/run installs it).
      if (process.env.CI) throw new Error('zsh is not installed: apt-get install zsh');
      context.skip('zsh is not installed (apt-get install zsh): bash and fish are checked without it');
      return;
    }
    const script = await saved('zsh');
    await run('zsh', ['-n', script]);
    const { stdout } = await run('zsh', [
      '-f',
      '-c',
      `autoload -U compinit && compinit -u -D; source '${script}'; print -r -- $_comps[stevedore]; whence -w _stevedore`,
    ]);
    expect(stdout).toBe('_stevedore\n_stevedore: function\n');
  });

  it('writes fish that fish reads, completing verbs, flags and choices', async (context) => {
    if (!installed('fish')) {
      // As every peer (DESIGN.md): missing in CI is a failure (.ci/run installs it).
      if (process.env.CI) throw new Error('fish is not installed: apt-get install fish');
      context.skip('fish is not installed (apt-get install fish): bash and zsh are checked without it');
      return;
    }
    const script = await saved('fish');
    await run('fish', ['--no-execute', script]);
    expect(await fishCompletes(script, 'stevedore co')).toEqual(['completion', 'config', 'copy']);
    expect(await fishCompletes(script, 'stevedore cp --re')).toEqual(['--referrers']);
    expect(await fishCompletes(script, 'stevedore completion ')).toEqual(['bash', 'fish', 'zsh']);
    expect(await fishCompletes(script, 'stevedore frob --frob-level ')).toEqual(['high', 'low']);
    expect(await fishCompletes(script, 'stevedore version ')).toEqual([]);
    // descriptions kept as written, nothing expanded
    const { stdout } = await run('fish', [
      '--no-config',
      '-c',
      `source '${script}'; complete -C 'stevedore fro'`,
    ]);
    expect(stdout).toContain(`frobnicate\t${ODD.summary}`);
  });
});
