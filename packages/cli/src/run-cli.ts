// The command line's one entry: finds the verb, parses its flags with node:util's
// parseArgs, loads the verb's code, runs it, and turns any error into one clear line and
// an exit code (0 ok, 1 failure, 2 usage).
import { parseArgs } from 'node:util';
import type { RegistryClient, RegistryClientOptions } from '@stevedore/transport-registry';
import { type CaptureIoOptions, type CliIo, captureIo, processIo } from './cli-io.ts';
import { cliVersion } from './cli-version.ts';
import { registryHostsOf } from './endpoints.ts';
import { CliError, usageError } from './errors.ts';
import { formatError } from './format-error.ts';
import { GLOBAL_FLAGS, type GlobalOptions, globalOptionsOf } from './global-options.ts';
import { commandHelp, verbHelp } from './help.ts';
import { createProgress } from './progress.ts';
import type { FlagSpec, FlagValues, VerbContext, VerbSpec } from './verb.ts';
import { VERBS } from './verbs.ts';

/**
 * Runs one command line (the arguments after `stevedore`) and resolves to its exit code.
 * Never rejects: errors are printed on `io.stderr`.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['copy', 'alpine:3.20', 'oci:./layout:alpine']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    // Global flags may come before the verb too (`stevedore --insecure copy …`).
    const { leading, verbAt } = leadingGlobalFlags(argv);
    const [first, ...after] = argv.slice(verbAt);
    const rest = [...leading, ...after];
    if (first === undefined) {
      io.stderr.write(commandHelp(VERBS, cliVersion()));
      return 2;
    }
    if (first === '--help' || first === '-h' || (first === 'help' && after.length === 0)) {
      io.stdout.write(commandHelp(VERBS, cliVersion()));
      return 0;
    }
    if (first === '--version') {
      io.stdout.write(`${cliVersion()}\n`);
      return 0;
    }
    if (first === 'help') {
      io.stdout.write(verbHelp(findVerb(after[0] as string)));
      return 0;
    }
    const verb = findVerb(first);
    const { values, positionals } = parseFlags(verb, rest);
    if (values.help === true) {
      io.stdout.write(verbHelp(verb));
      return 0;
    }
    const [min, max] = verb.arguments;
    if (positionals.length < min || positionals.length > max) {
      const expected =
        min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min} to ${max}`;
      throw usageError(
        `${verb.name} takes ${expected} argument${max === 1 ? '' : 's'} (${verb.usage}), got ${positionals.length}`,
        verb.name,
      );
    }
    const global = globalOptionsOf(values);
    const run = await verb.load();
    const { context, close } = contextOf(verb, positionals, values, global, io);
    try {
      await run(context);
    } finally {
      await close();
    }
    return 0;
  } catch (error) {
    io.stderr.write(formatError(error, verbose));
    return CliError.is(error, 'ERR_USAGE') ? 2 : 1;
  }
}

// The global flags before the verb, and where the verb is. `--help` and `--version`
// there are the command's own.
function leadingGlobalFlags(argv: readonly string[]): { leading: string[]; verbAt: number } {
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] as string;
    if (!arg.startsWith('-') || ['--help', '-h', '--version'].includes(arg)) break;
    const name = arg.replace(/^--?/, '').split('=')[0] as string;
    const flag =
      GLOBAL_FLAGS[name] ??
      Object.values(GLOBAL_FLAGS).find((each) => each.short !== undefined && each.short === name);
    if (flag === undefined) break; // left for the verb's parser to refuse
    index += flag.type === 'string' && !arg.includes('=') ? 2 : 1;
  }
  return { leading: [...argv.slice(0, Math.min(index, argv.length))], verbAt: index };
}

function findVerb(name: string): VerbSpec {
  const verb = VERBS.find((each) => each.name === name || each.aliases?.includes(name));
  if (verb !== undefined) return verb;
  const names = VERBS.flatMap((each) => [each.name, ...(each.aliases ?? [])]);
  const near = names.filter((each) => editDistance(each, name) <= 2);
  throw new CliError('ERR_USAGE', `unknown verb ${JSON.stringify(name)}`, {
    hint: near.length > 0 ? `did you mean ${near.join(' or ')}?` : 'see "stevedore --help" for the verbs',
  });
}

function parseFlags(verb: VerbSpec, args: readonly string[]): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  const add = (name: string, flag: FlagSpec) => {
    options[name] = {
      type: flag.type,
      ...(flag.short === undefined ? {} : { short: flag.short }),
      ...(flag.multiple === true ? { multiple: true } : {}),
    };
  };
  for (const [name, flag] of Object.entries(GLOBAL_FLAGS)) add(name, flag);
  for (const [name, flag] of Object.entries(verb.flags ?? {})) add(name, flag);
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: parsed.values as FlagValues, positionals: parsed.positionals };
  } catch (error) {
    throw usageError((error as Error).message, verb.name);
  }
}

function contextOf(
  verb: VerbSpec,
  positionals: readonly string[],
  flags: FlagValues,
  global: GlobalOptions,
  io: CliIo,
): { context: VerbContext; close: () => Promise<void> } {
  let shared: Promise<RegistryClient> | undefined;
  const made: Promise<RegistryClient>[] = [];
  const log = (line: string) => {
    if (!global.quiet) io.stderr.write(`${line}\n`);
  };
  const debug = (line: string) => {
    if (global.verbose) io.stderr.write(`${line}\n`);
  };
  // Every client a verb asks for: stored logins from the run's environment, --insecure
  // for the hosts the command line (and `names`) name, retries told with --verbose.
  const makeClient = (names: readonly string[], overrides: RegistryClientOptions) => {
    const client = import('@stevedore/transport-registry').then(({ RegistryClient, findCredentials }) => {
      const named = [...positionals, ...Object.values(flags).flat(), ...names].filter(
        (value) => typeof value === 'string',
      );
      return new RegistryClient({
        credentials: (registry, repository) =>
          findCredentials(registry, repository, {
            env: io.env,
            onWarning: (message) => log(`warning: ${message}`),
          }),
        insecure: global.insecure ? registryHostsOf(named) : [],
        userAgent: `stevedore/${cliVersion()}`,
        onEvent: (event) =>
          debug(
            event.type === 'retry'
              ? `retry ${event.attempt}: ${event.method} ${event.url} (${event.reason}), again in ${event.delayMs} ms`
              : `${event.method} ${event.url} ${event.status} ${event.durationMs.toFixed(0)} ms`,
          ),
        ...overrides,
      });
    });
    made.push(client);
    return client;
  };
  const context: VerbContext = {
    verb,
    verbs: VERBS,
    positionals,
    flags,
    global,
    io,
    registry(names = []) {
      shared ??= makeClient(names, {});
      return shared;
    },
    newRegistryClient: (options) => makeClient([], options),
    print(value, text) {
      if (global.json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const shown = text ?? (typeof value === 'string' ? value : JSON.stringify(value, null, 2));
        if (shown !== '') io.stdout.write(shown.endsWith('\n') ? shown : `${shown}\n`);
      }
    },
    log,
    debug,
    progress(title) {
      const mode = global.quiet || global.json ? 'none' : io.stderr.isTTY ? 'bars' : 'lines';
      return createProgress(title, io.stderr, mode);
    },
  };
  // The client's keep-alive connections would hold the process open.
  return {
    context,
    close: async () => void (await Promise.all(made.map(async (client) => (await client).close()))),
  };
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** What {@link runCliCapturing} answers: the exit code and everything the run printed. */
export interface CapturedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes (a tar or a blob the run wrote). */
  readonly stdoutBytes: Uint8Array;
}

/**
 * Runs one command line with its output kept in memory ({@link captureIo}).
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCliCapturing(['ls', 'localhost:5000/app']);
 * ```
 */
export async function runCliCapturing(
  argv: readonly string[],
  options: CaptureIoOptions = {},
): Promise<CapturedRun> {
  const captured = captureIo(options);
  const code = await runCli(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr(), stdoutBytes: captured.stdoutBytes() };
}
