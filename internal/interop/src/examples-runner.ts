// Runs the recipes of docs/EXAMPLES.md as a user would: each ```sh block with bash (with
// `stevedore` on the PATH), each ```ts block with Node from a file inside the workspace,
// so that `@stevedore/*` imports resolve through internal/interop's node_modules.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fenced code block: its language (the first word of the info string) and its text. */
export interface CodeBlock {
  readonly language: string;
  readonly code: string;
}

/** One `## ` section of the cookbook. */
export interface Recipe {
  readonly title: string;
  /** The one ```sh block. */
  readonly sh: string;
  /** The one ```ts block. */
  readonly ts: string;
  /** Every fenced block, in order (```nginx and the like too). */
  readonly blocks: readonly CodeBlock[];
}

/**
 * The recipes of a cookbook: every `## ` section, each with exactly one ```sh and one
 * ```ts block. Throws naming the section that has not.
 */
export function parseRecipes(markdown: string): Recipe[] {
  const recipes: Recipe[] = [];
  let title: string | undefined;
  let blocks: CodeBlock[] = [];
  let fence: { language: string; lines: string[] } | undefined;
  const finish = () => {
    if (title === undefined) return;
    const of = (language: string) => {
      const found = blocks.filter((block) => block.language === language);
      if (found.length !== 1) {
        throw new Error(`recipe "${title}": expected one \`\`\`${language} block, found ${found.length}`);
      }
      return (found[0] as CodeBlock).code;
    };
    recipes.push({ title, sh: of('sh'), ts: of('ts'), blocks });
  };
  for (const line of markdown.split('\n')) {
    if (fence !== undefined) {
      if (line.trimEnd() === '```') {
        blocks.push({ language: fence.language, code: `${fence.lines.join('\n')}\n` });
        fence = undefined;
      } else fence.lines.push(line);
      continue;
    }
    const opening = /^```(\S*)/.exec(line);
    if (opening !== null) {
      fence = { language: opening[1] ?? '', lines: [] };
      continue;
    }
    if (line.startsWith('## ')) {
      finish();
      title = line.slice(3).trim();
      blocks = [];
    }
  }
  if (fence !== undefined) throw new Error(`an unclosed \`\`\`${fence.language} block`);
  finish();
  return recipes;
}

/**
 * A directory holding a `stevedore` shell script that runs the CLI from source with this
 * Node, to put first on a block's PATH.
 */
export async function writeStevedoreShim(node: string, main: string): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), 'stevedore-examples-bin-'));
  const shim = join(bin, 'stevedore');
  await writeFile(shim, `#!/bin/sh\nexec ${quote(node)} ${quote(main)} "$@"\n`);
  await chmod(shim, 0o755);
  return bin;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** How a block ended. */
export interface BlockRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Where and how a block runs. */
export interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Milliseconds before the block and everything it started are killed (default 45 s). */
  readonly timeout?: number;
}

/** Runs a shell block with `bash -euo pipefail` from a script file. */
export async function runShell(script: string, options: RunOptions): Promise<BlockRun> {
  const dir = await mkdtemp(join(tmpdir(), 'stevedore-examples-sh-'));
  const file = join(dir, 'recipe.sh');
  await writeFile(file, script);
  try {
    return await runProcess('bash', ['-euo', 'pipefail', file], options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a TypeScript block with `node` from a `.mts` file in `runDir` (inside the
 * workspace, where `@stevedore/*` resolve), removed afterwards.
 */
export async function runTypeScript(
  code: string,
  runDir: string,
  node: string,
  options: RunOptions,
): Promise<BlockRun> {
  await mkdir(runDir, { recursive: true });
  const file = join(runDir, `recipe-${randomUUID()}.mts`);
  await writeFile(file, code);
  try {
    return await runProcess(node, [file], options);
  } finally {
    await rm(file, { force: true });
  }
}

// The block runs in a process group of its own: once its leader exits, whatever it left
// running in the background (a server a failing script never stopped) is stopped too.
function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<BlockRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const group = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      group('SIGKILL');
    }, options.timeout ?? 45_000);
    let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      group('SIGTERM');
      setTimeout(() => group('SIGKILL'), 2_000).unref();
    });
    // Both pipes closed: the leader and everything that held its output are done.
    child.once('close', () => {
      clearTimeout(timer);
      resolve({
        code: ended?.code ?? null,
        signal: ended?.signal ?? null,
        stdout,
        stderr,
        timedOut,
      });
    });
  });
}

/** A block's outcome, for an assertion message. */
export function describeRun(label: string, run: BlockRun): string {
  const how = run.timedOut
    ? 'timed out'
    : run.signal === null
      ? `exited ${run.code}`
      : `was killed by ${run.signal}`;
  return `${label} ${how}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
}
