#!/usr/bin/env node
// The `stevedore` binary. SIGINT or SIGTERM aborts the running verb (a copy stops and
// cleans up, a server closes); a second SIGINT exits at once. `--version` alone loads
// nothing but the package's version; everything else loads the command line's frame,
// and a verb its own code.
import { cliVersion } from './cli-version.ts';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${cliVersion()}\n`);
} else {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted && signal === 'SIGINT') process.exit(130);
      controller.abort(new Error(`interrupted by ${signal}`));
    });
  }
  const [{ processIo }, { runCli }] = await Promise.all([import('./cli-io.ts'), import('./run-cli.ts')]);
  process.exitCode = await runCli(argv, processIo(controller.signal));
}
