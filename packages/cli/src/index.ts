export { type CliIo, type CliOutput, processIo } from './cli-io.ts';
export { cliVersion } from './cli-version.ts';
export { CliError, type CliErrorCode } from './errors.ts';
export { referenceMarkdown } from './help.ts';
export { runCli } from './run-cli.ts';
export type { FlagSpec, VerbSpec } from './verb.ts';
export { VERBS } from './verbs.ts';
