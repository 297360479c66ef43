// What a verb is: its spec (names, arguments, flags, help) and the function that runs it.
import type { RegistryClient, RegistryClientOptions } from '@stevedore/transport-registry';
import type { CliIo } from './cli-io.ts';
import type { GlobalOptions } from './global-options.ts';
import type { Progress } from './progress.ts';

/** One flag of a verb, as `node:util` `parseArgs` takes it, with its help. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Repeatable: the values come as an array. */
  readonly multiple?: boolean;
  /** The placeholder of its value in help (`PATH`, `N`). */
  readonly value?: string;
  readonly description: string;
}

/** A verb of the `stevedore` command. */
export interface VerbSpec {
  readonly name: string;
  /** Other names, crane's or skopeo's where they differ (`cp`, `list-tags`). */
  readonly aliases?: readonly string[];
  /** One line for the verb list. */
  readonly summary: string;
  /** The arguments after the verb, as help shows them (`SOURCE DESTINATION`). */
  readonly usage: string;
  /** What it does, in a few sentences, for its help and docs/cli.md. */
  readonly description: string;
  /** How many positional arguments it takes: `[min, max]` (`max` may be `Infinity`). */
  readonly arguments: readonly [number, number];
  readonly flags?: Readonly<Record<string, FlagSpec>>;
  /** Real command lines, each with a comment line before it (`# copy all platforms`). */
  readonly examples: readonly string[];
  /** Loads the verb's code on demand (start-up stays fast). */
  readonly load: () => Promise<VerbRun>;
}

/** A verb's code. */
export type VerbRun = (context: VerbContext) => Promise<void>;

/** The values of a verb's flags. */
export type FlagValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What a verb's code is given. */
export interface VerbContext {
  readonly verb: VerbSpec;
  /** Every verb of the command (for completion scripts). */
  readonly verbs: readonly VerbSpec[];
  readonly positionals: readonly string[];
  readonly flags: FlagValues;
  readonly global: GlobalOptions;
  readonly io: CliIo;
  /**
   * The client for `docker://` endpoints, made on first use: stored logins, `--insecure`
   * for the hosts the command line names (and `names`, endpoints read from a file, on the
   * first call), retries told with `--verbose`. Closed when the verb ends.
   */
  registry(names?: readonly string[]): Promise<RegistryClient>;
  /** Another client like it, with `options` on top (a login's own credentials); closed when the verb ends. */
  newRegistryClient(options: RegistryClientOptions): Promise<RegistryClient>;
  /**
   * Prints a verb's result: `value` as JSON with `--json`, else `text` (or `value` itself
   * when it is a string), on stdout; an empty text prints nothing (an empty list, a delete).
   */
  print(value: unknown, text?: string): void;
  /** A line on stderr, unless `--quiet`. */
  log(line: string): void;
  /** A line on stderr with `--verbose` only. */
  debug(line: string): void;
  /** Progress for the blobs of a copy, push, pull or build (bars on a terminal, lines elsewhere). */
  progress(title: string): Progress;
}
