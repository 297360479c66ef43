// An error as the command line shows it: one line with the code and what failed, a hint
// line saying what to do where one helps, and the stack only with --verbose.
import { StevedoreError } from '@stevedore/errors';
import { CliError } from './errors.ts';

/** The lines to print for `error` (each ending in a newline). */
export function formatError(error: unknown, verbose: boolean): string {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = hintOf(error);
  let text = `stevedore: ${code === undefined ? '' : `${code}: `}${message}\n`;
  if (hint !== undefined) text += `hint: ${hint}\n`;
  if (verbose && error instanceof Error && error.stack !== undefined) {
    text += `${error.stack}\n`;
    for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
      text += `caused by: ${cause.stack ?? cause.message}\n`;
    }
  }
  return text;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function hintOf(error: unknown): string | undefined {
  if (error instanceof CliError) return error.hint;
  if (StevedoreError.is(error, 'ERR_REGISTRY_RESPONSE')) {
    const { status, reference } = error as { status?: number; reference?: string };
    const registry = reference?.split('/')[0] ?? 'REGISTRY';
    if (status === 401) return `log in first: stevedore login ${registry}`;
    if (status === 403)
      return `the credentials for ${registry} do not allow this; log in again with other ones: stevedore login ${registry}`;
    return undefined;
  }
  if (StevedoreError.is(error, 'ERR_REGISTRY_UNREACHABLE')) {
    return 'is the registry running and reachable? A registry on plain HTTP (other than localhost) needs --insecure';
  }
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause !== undefined && cause !== error) return hintOf(cause);
  const code = codeOf(error);
  if (code === 'ENOENT') return 'check the path';
  if (code === 'EACCES' || code === 'EPERM') return 'check the permissions of the path';
  return undefined;
}
