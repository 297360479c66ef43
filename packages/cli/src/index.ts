export {
  type CapturedIo,
  type CaptureIoOptions,
  type CliIo,
  type CliOutput,
  captureIo,
  processIo,
} from './cli-io.ts';
export { cliVersion } from './cli-version.ts';
export { CliError, type CliErrorCode } from './errors.ts';
export { referenceMarkdown } from './help.ts';
export { type CapturedRun, runCli, runCliCapturing } from './run-cli.ts';
export type { FlagSpec, VerbSpec } from './verb.ts';
export { VERBS } from './verbs.ts';
