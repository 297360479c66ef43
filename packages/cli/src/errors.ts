import { StevedoreError } from '@stevedore/errors';

/** The error codes of `@stevedore/cli`. */
export type CliErrorCode =
  /** The command line is wrong: an unknown verb or flag, a missing argument (exit 2). */
  | 'ERR_USAGE'
  /** A file the command was given cannot be read or is not what it should be. */
  | 'ERR_CLI_INPUT'
  /** What the command was asked about does not exist. */
  | 'ERR_NOT_FOUND'
  /** The registry refused the credentials given to `login` (nothing was stored). */
  | 'ERR_LOGIN_REFUSED'
  /** Some images of a `sync` failed to copy (the others were copied). */
  | 'ERR_SYNC_FAILED';

/** A command line that cannot be run as given. */
export class CliError extends StevedoreError<CliErrorCode> {
  /** What to do about it, shown on a line of its own. */
  readonly hint: string | undefined;

  constructor(code: CliErrorCode, message: string, details: { hint?: string; cause?: unknown } = {}) {
    super(code, message, details);
    this.hint = details.hint;
  }
}

/** A usage error for `verb` (exit 2), pointing at its help. */
export function usageError(message: string, verb?: string): CliError {
  return new CliError('ERR_USAGE', message, {
    hint: `see "stevedore ${verb === undefined ? '' : `${verb} `}--help"`,
  });
}
